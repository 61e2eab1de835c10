"""A datamodel-codegen custom formatter: item lists become tagged unions, keyed on ``type``.

JSON Schema has no way to say that a ``oneOf`` is decided by one key when a branch may leave
that key out (a message's ``type`` is optional), so the generator writes ``list[A | B | C]`` and
Pydantic tries every branch on every item. Where the models themselves show that ``type``
decides (each branch's ``type`` is one literal, and the branches that admit it absent or null
share one), this rewrites the list as
``list[Annotated[Annotated[A, Tag("a")] | ..., Discriminator(type_tag(...))]]``: Pydantic
then validates each item against the branches of its ``type`` only. The verdicts do not change
(branches of other types refuse it anyway); the tests check that the models and the schemas
agree.

Any other union is left as it is. Configured in pyproject.toml (``custom-formatters``); runs
after the generator's own formatters, so it formats what it rewrites with ruff.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from datamodel_code_generator.format import CustomCodeFormatter

_PROJECT = Path(__file__).resolve().parents[1]
_IMPORTS = (
    "from pydantic import Discriminator, Tag\nfrom nemogym_docent.models.base import type_tag\n"
)


@dataclass(frozen=True)
class _TypeField:
    """What a class's ``type`` annotation admits: its literal strings, and absence or null."""

    literals: tuple[str, ...]
    absent: bool


class CodeFormatter(CustomCodeFormatter):
    """Rewrite the item lists whose union ``type`` decides (see the module docstring)."""

    def apply(self, code: str) -> str:
        tree = ast.parse(code)
        type_fields = _type_fields(tree)
        edits = [
            (node, tagged)
            for node in ast.walk(tree)
            if isinstance(node, ast.Subscript)
            and (tagged := _tagged_list(node, type_fields)) is not None
        ]
        if not edits:
            return code
        source = code.encode()  # the node offsets count UTF-8 bytes
        starts = [0]
        for line in source.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        for node, text in sorted(edits, key=lambda edit: edit[0].lineno, reverse=True):
            start = starts[node.lineno - 1] + node.col_offset
            end = starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0)
            source = source[:start] + text.encode() + source[end:]
        return _formatted(_with_imports(source.decode()))


def _type_fields(tree: ast.Module) -> dict[str, _TypeField]:
    """The ``type`` field of every class that has one, itself or by inheritance."""
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def find(name: str) -> _TypeField | None:
        node = classes.get(name)
        if node is None:
            return None
        for statement in node.body:
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.target.id == "type"
            ):
                return _read_type_field(statement.annotation)
        bases = [find(base.id) for base in node.bases if isinstance(base, ast.Name)]
        return next((field for field in bases if field is not None), None)

    found = {name: find(name) for name in classes}
    return {name: field for name, field in found.items() if field is not None}


def _read_type_field(annotation: ast.expr) -> _TypeField | None:
    literals: list[str] = []
    absent = False
    for part in _union_members(annotation):
        if isinstance(part, ast.Subscript) and _named(part.value, "Literal"):
            values = part.slice.elts if isinstance(part.slice, ast.Tuple) else [part.slice]
            strings = [v.value for v in values if isinstance(v, ast.Constant)]
            if len(strings) != len(values) or not all(isinstance(v, str) for v in strings):
                return None
            literals += map(str, strings)
        elif (isinstance(part, ast.Constant) and part.value is None) or _named(part, "MISSING"):
            absent = True
        else:
            return None
    return _TypeField(tuple(literals), absent) if literals else None


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    return [node]


def _named(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _tagged_list(node: ast.Subscript, type_fields: dict[str, _TypeField]) -> str | None:
    """The tagged form of ``list[A | B | ...]`` when ``type`` decides between its classes.

    Classes with the same ``type`` share a tag and stay a plain union under it (a token-only
    message is a message too), in their order.
    """
    if not _named(node.value, "list"):
        return None
    members = _union_members(node.slice)
    names = [member.id for member in members if isinstance(member, ast.Name)]
    found = [type_fields.get(name) for name in names]
    fields = [field for field in found if field is not None and len(field.literals) == 1]
    if len(fields) != len(members):
        return None
    groups: dict[str, list[str]] = {}
    for name, field in zip(names, fields, strict=True):
        groups.setdefault(field.literals[0], []).append(name)
    absent = {field.literals[0] for field in fields if field.absent}
    if len(groups) < 2 or len(absent) > 1:
        return None
    branches = " | ".join(
        f"Annotated[{' | '.join(group)}, Tag({tag!r})]" for tag, group in groups.items()
    )
    default = repr(next(iter(absent))) if absent else "None"
    return f"list[Annotated[{branches}, Discriminator(type_tag({default}))]]"


def _with_imports(code: str) -> str:
    """The imports the tagged unions need, after the generated ones (ruff sorts them)."""
    marker = "from nemogym_docent.models.base import"
    at = code.index(marker)
    return code[:at] + _IMPORTS + code[at:]


def _formatted(code: str) -> str:
    """``ruff check --fix`` then ``ruff format``, as the generator runs them (project config)."""
    for command in (["check", "--fix", "--exit-zero", "-"], ["format", "-"]):
        code = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            input=code,
            capture_output=True,
            text=True,
            check=True,
            cwd=_PROJECT,
        ).stdout
    return code
