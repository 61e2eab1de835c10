"""``--where`` expressions: conditions on a rollout's fields, evaluated safely by simpleeval.

An expression is one Python-like expression over the rollout's top-level keys
(``reward < 1``, ``agent_ref.name == "math_agent"``, ``_ng_task_index in [3, 7]``). It is
parsed once; each rollout is then evaluated by simpleeval's tree walker, limited here to plain
data: a dotted name or ``[...]`` only ever looks up a key or an index of the JSON value, never a
Python attribute. A path the rollout does not have is *missing*: any comparison with it is
false (``!=`` too), arithmetic on it stays missing, and a missing value is false.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from simpleeval import EvalWithCompoundTypes


class _Missing:
    """The value of a path the rollout does not have."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "missing"


MISSING: Final = _Missing()


class WhereError(ValueError):
    """A ``--where`` expression that cannot be evaluated; ``column`` counts from 1."""

    def __init__(self, expression: str, column: int, message: str) -> None:
        self.expression = expression
        self.column = column
        self.message = message
        super().__init__(f"{message} at column {column}: {expression}")


def _compare(compare: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bool]:
    def compared(left: Any, right: Any) -> bool:
        if left is MISSING or right is MISSING:
            return False
        try:
            return bool(compare(left, right))
        except TypeError:  # "a" < 1, None < 1: not comparable, so not true
            return False

    return compared


def _arithmetic(compute: Callable[..., Any]) -> Callable[..., Any]:
    def computed(*operands: Any) -> Any:
        if any(operand is MISSING for operand in operands):
            return MISSING
        try:
            return compute(*operands)
        except (TypeError, ValueError, ArithmeticError):
            return MISSING

    return computed


_OPERATORS: Final[dict[type[ast.AST], Callable[..., Any]]] = {
    ast.Eq: _compare(operator.eq),
    ast.NotEq: _compare(operator.ne),
    ast.Lt: _compare(operator.lt),
    ast.LtE: _compare(operator.le),
    ast.Gt: _compare(operator.gt),
    ast.GtE: _compare(operator.ge),
    ast.In: _compare(lambda item, container: item in container),
    ast.NotIn: _compare(lambda item, container: item not in container),
    ast.Add: _arithmetic(operator.add),
    ast.Sub: _arithmetic(operator.sub),
    ast.Mult: _arithmetic(operator.mul),
    ast.Div: _arithmetic(operator.truediv),
    ast.Mod: _arithmetic(operator.mod),
    ast.USub: _arithmetic(operator.neg),
    ast.Not: operator.not_,
}
_PLAIN_FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "int": int,
    "float": float,
    "str": str,
}
_FUNCTIONS: Final = {name: _arithmetic(function) for name, function in _PLAIN_FUNCTIONS.items()}
_JSON_CONSTANTS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}
_NODES: Final = (
    ast.Expression,
    ast.Name,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.IfExp,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Load,
    ast.And,
    ast.Or,
)


class _RolloutEval(EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval over one rollout at a time, looking up keys and indexes only."""

    def __init__(self) -> None:
        super().__init__(operators=dict(_OPERATORS), functions=dict(_FUNCTIONS), names={})
        self.rollout: Mapping[str, Any] = {}

    def _eval(self, node: ast.AST) -> Any:
        # The tree was checked when the expression was compiled, and every value is plain data.
        return self.nodes[type(node)](node)

    def _eval_name(self, node: ast.Name) -> Any:
        value = self.rollout.get(node.id, MISSING)
        if value is MISSING and node.id in _JSON_CONSTANTS:
            return _JSON_CONSTANTS[node.id]
        return value

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        value = self._eval(node.value)
        return value.get(node.attr, MISSING) if isinstance(value, dict) else MISSING

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if container is MISSING or key is MISSING or isinstance(container, bool | int | float):
            return MISSING
        try:
            return container[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return MISSING

    def _eval_call(self, node: ast.Call) -> Any:
        return self.functions[node.func.id](*(self._eval(argument) for argument in node.args))  # type: ignore[attr-defined]


@dataclass
class Where:
    """One compiled ``--where`` expression; ``matches(rollout)`` says whether it holds."""

    expression: str
    _tree: ast.Expression
    _evaluator: _RolloutEval = field(default_factory=_RolloutEval, repr=False)

    def matches(self, rollout: Mapping[str, Any]) -> bool:
        self._evaluator.rollout = rollout
        try:
            return bool(self._evaluator._eval(self._tree.body))
        except RecursionError:
            return False
        finally:
            self._evaluator.rollout = {}

    def __getstate__(self) -> str:
        return self.expression

    def __setstate__(self, expression: str) -> None:
        self.__dict__.update(compile_where(expression).__dict__)


def compile_where(expression: str) -> Where:
    """Parse and check an expression; raise ``WhereError`` with the column of the fault."""
    text = expression.strip()
    if not text:
        raise WhereError(expression, 1, "empty condition")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        message = (exc.msg or "invalid syntax").removeprefix("invalid syntax. ")
        column = _column(text, exc.lineno or 1, exc.offset or 0)
        raise WhereError(expression, _unstripped(expression, column), message) from exc
    except ValueError as exc:  # a NUL character
        raise WhereError(expression, 1, str(exc)) from exc
    for node in ast.walk(tree):
        fault = _unsupported(node)
        if fault:
            at, problem = fault
            column = _column(text, getattr(at, "lineno", 1), getattr(at, "col_offset", 0) + 1)
            raise WhereError(expression, _unstripped(expression, column), problem)
    return Where(expression, tree)


def _column(text: str, line: int, offset: int) -> int:
    """The 1-based column in ``text`` of a 1-based (line, offset); past the end when unknown."""
    lines = text.split("\n")
    if line > len(lines) or not 1 <= offset <= len(lines[line - 1]):
        return len(text) + 1
    return sum(len(previous) + 1 for previous in lines[: line - 1]) + offset


def _unstripped(expression: str, column: int) -> int:
    return column + len(expression) - len(expression.lstrip())


def _unsupported(node: ast.AST) -> tuple[ast.AST, str] | None:
    """The node to point at and what is wrong with it, or ``None``."""
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            return node, f"unknown function; use one of {', '.join(sorted(_FUNCTIONS))}"
        if node.keywords:
            return node, "functions take no keyword arguments"
        return None
    operators: list[tuple[ast.AST, ast.AST]] = []  # (operator, what it follows)
    if isinstance(node, ast.BinOp):
        operators = [(node.op, node.left)]
    elif isinstance(node, ast.UnaryOp):
        operators = [(node.op, node)]
    elif isinstance(node, ast.Compare):
        operators = list(zip(node.ops, [node.left, *node.comparators], strict=False))
    for operator_node, before in operators:
        if type(operator_node) not in _OPERATORS:
            name = type(operator_node).__name__
            hint = "; compare with == null instead" if name in {"Is", "IsNot"} else ""
            return _after(before, node), f"operator {name} not supported{hint}"
    if isinstance(node, ast.Constant) and not isinstance(
        node.value, str | int | float | bool | type(None)
    ):
        return node, "only strings, numbers, True, False and None are constants"
    if not isinstance(node, (*_NODES, ast.operator, ast.cmpop, ast.unaryop)):
        return node, f"{type(node).__name__} not supported in a condition"
    return None


def _after(before: ast.AST, parent: ast.AST) -> ast.AST:
    """Where an operator written after ``before`` starts (for a unary operator, the parent)."""
    if before is parent:
        return parent
    position = ast.AST()
    position.lineno = getattr(before, "end_lineno", 1)  # type: ignore[attr-defined]
    position.col_offset = getattr(before, "end_col_offset", 0) + 1  # type: ignore[attr-defined]
    return position


def compile_conditions(expressions: list[str] | tuple[str, ...]) -> tuple[Where, ...]:
    """Compile several expressions (all of which must hold)."""
    return tuple(compile_where(expression) for expression in expressions)


def matches_all(conditions: tuple[Where, ...], rollout: Any) -> bool:
    """Whether a rollout (a JSON object) meets every condition; anything else meets none."""
    if not conditions:
        return True
    if not isinstance(rollout, dict):
        return False
    return all(condition.matches(rollout) for condition in conditions)
