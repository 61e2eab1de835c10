"""The package's layout rules (docs/code-map.md): rooms whose imports run one way, a command line
that nothing below it imports, one reader of files, options declared once, stable public names."""

from __future__ import annotations

import ast
import gzip
import importlib
import json
from collections import Counter
from pathlib import Path

import pytest
from builders import rollout
from cli_helpers import run_cli

import nemogym_docent
from nemogym_docent.analysis.summary import summarize_jsonl_files

PACKAGE = Path(nemogym_docent.__file__).parent
NAME = "nemogym_docent"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


MODULES = _modules()


def _imports(module: str) -> set[str]:
    """Every module of the package that ``module`` imports, at the top, inside functions or under
    ``TYPE_CHECKING``."""
    path = MODULES[module]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            if node.level:
                base = base[: len(base) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            targets = [stem, *(f"{stem}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in targets:
            target = name
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _in(module: str, room: str) -> bool:
    return module == f"{NAME}.{room}" or module.startswith(f"{NAME}.{room}.")


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports in ``graph``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, set())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_there_is_no_import_cycle() -> None:
    assert _find_cycle(GRAPH) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_below_the_command_line_imports_it() -> None:
    importers = {
        module
        for module, targets in GRAPH.items()
        if not _in(module, "cli")
        and module != f"{NAME}.__main__"
        and any(_in(target, "cli") for target in targets)
    }
    assert importers == set()


def test_the_generated_models_import_only_their_own_room() -> None:
    outside = {
        (module, target)
        for module, targets in GRAPH.items()
        if _in(module, "models")
        for target in targets
        if not _in(target, "models")
    }
    assert outside == set()


ROOM_ORDER = [
    "models", "jsonl", "validation", "mapping", "analysis", "upload", "reports", "engine", "cli"
]  # fmt: skip
"""Rooms, lowest first: a room imports only the leaves and rooms before it."""
LEAVES = {"errors", "options", "json_paths", "identity"}
ABOVE_MAPPING = {"convert", "check"}  # the public converters sit between mapping and analysis


def _rank(module: str) -> float:
    part = module.split(".")[1] if "." in module else ""
    if part in LEAVES:
        return -1
    if part in ABOVE_MAPPING:
        return ROOM_ORDER.index("mapping") + 0.5
    return ROOM_ORDER.index(part) if part in ROOM_ORDER else len(ROOM_ORDER)


def test_imports_run_from_the_command_line_down_to_the_leaves() -> None:
    upward = sorted(
        (module, target)
        for module, targets in GRAPH.items()
        if module not in (NAME, f"{NAME}.__main__", f"{NAME}.ray") and not _in(module, "ray")
        for target in targets
        if _rank(target) > _rank(module)
    )
    assert upward == []


def test_only_the_reader_opens_compressed_streams() -> None:
    openers = {
        module
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            name.split(".")[0] in ("gzip", "zstandard", "zlib")
            for name in (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
        )
    }
    # The upload gzips its request bodies; it reads nothing compressed.
    assert openers == {f"{NAME}.jsonl.files", f"{NAME}.upload.payload"}


def _declared_flags() -> Counter[str]:
    flags: Counter[str] = Counter()
    for module, path in MODULES.items():
        if not _in(module, "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "Option"
            ):
                flags.update(
                    arg.value.split("/")[0]
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                )
    return flags


def test_each_option_is_declared_once() -> None:
    flags = _declared_flags()
    assert "--lenient" in flags
    assert "--where" in flags
    assert {flag: count for flag, count in flags.items() if count > 1} == {}


def test_public_names_stay_importable() -> None:
    assert set(nemogym_docent.__all__) == {
        "ConversionError",
        "Detail",
        "Issue",
        "RecordOrigin",
        "RolloutCheck",
        "Verdict",
        "check_nemogym_rollout",
        "compare_exports",
        "compare_rollouts",
        "convert_nemogym_failed_attempt_to_agent_run",
        "convert_nemogym_failures_file_to_agent_runs",
        "convert_nemogym_jsonl_file_to_agent_runs",
        "convert_nemogym_jsonl_line",
        "convert_nemogym_rollout_to_agent_run",
        "iter_nemogym_failures_file_to_agent_runs",
        "iter_nemogym_jsonl_file_to_agent_runs",
        "summarize_jsonl_files",
        "summarize_rollouts",
        "validate_nemogym_rollout",
    }
    for name in nemogym_docent.__all__:
        assert getattr(importlib.import_module(NAME), name) is not None
    ray_init = ast.parse((PACKAGE / "ray" / "__init__.py").read_text("utf-8"))
    exported = next(
        node.value
        for node in ray_init.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__"
    )
    assert isinstance(exported, ast.List)
    assert {element.value for element in exported.elts if isinstance(element, ast.Constant)} == {
        "COLUMNS",
        "DocentDatasink",
        "UploadCounts",
        "read_nemogym_rollouts",
        "write_agent_runs",
    }


def test_one_reader_for_the_library_the_summary_and_the_command_line(tmp_path: Path) -> None:
    """A gzip export reads the same everywhere: the file converter, the library's summary and
    ``summary`` all see its records; a cut stream is a ``ConversionError`` for both functions."""
    lines = [
        json.dumps(rollout(reward=float(index % 2), _ng_task_index=index)) for index in range(6)
    ]
    export = tmp_path / "rollouts.jsonl.gz"
    export.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    runs = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(export)
    library = summarize_jsonl_files([export]).as_dict()["total"]
    result = run_cli(["summary", str(export), "--format", "json"])
    command = json.loads(result.stdout)["total"]
    assert len(runs) == library["rollouts"] == command["rollouts"] == 6
    assert library["unreadable"] == command["unreadable"] == 0

    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(export.read_bytes()[:-12])
    with pytest.raises(nemogym_docent.ConversionError, match="ends early"):
        nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(cut)
    with pytest.raises(nemogym_docent.ConversionError, match="ends early"):
        summarize_jsonl_files([cut])
