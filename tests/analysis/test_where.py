"""``--where`` conditions: the documented examples, missing paths, safety, and faults located."""

from __future__ import annotations

import keyword
import pickle
import unicodedata
from typing import Any

import pytest
from builders import rollout
from hypothesis import given, settings
from strategies import examples, json_objects

from nemogym_docent.analysis.where import WhereError, compile_conditions, compile_where, matches_all

MATH = rollout(
    reward=0.5,
    agent_ref={"name": "math_agent"},
    reward_components={"format": 0.75, "items": 2},
    _ng_task_index=3,
    judge_evaluations=[{"verdict_label": "[[A=B]]"}],
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("reward < 1", True),
        ("reward < 0.5", False),
        ('agent_ref.name == "math_agent"', True),
        ('agent_ref.name == "other"', False),
        ("reward_components.format >= 0.5", True),
        ("reward_components.format >= 0.8", False),
        ("_ng_task_index in [3, 7]", True),
        ("_ng_task_index in [4, 7]", False),
        ("_ng_task_index not in [4, 7]", True),
        ("reward < 1 and _ng_task_index == 3", True),
        ("reward == 1 or _ng_task_index == 3", True),
        ("not reward == 1", True),
        ("0 < reward <= 0.5", True),
        ('judge_evaluations[0].verdict_label == "[[A=B]]"', True),
        ('judge_evaluations[-1]["verdict_label"] == "[[A=B]]"', True),
        ("len(judge_evaluations) == 1", True),
        ("reward_components.format + reward_components.items > 2.5", True),
        ('response.output[0].content[0].text == "Hello"', True),
        ("reward", True),
        ("agent_ref.name != null", True),
        # A key named like a dict method is a key: "items" here, and nothing at "keys".
        ("reward_components.items == 2", True),
        ("reward_components.keys", False),
        # Nor does a dotted name ever reach a Python attribute of a value.
        ("reward.real == 0.5", False),
        ('agent_ref.name.upper == "MATH_AGENT"', False),
    ],
)
def test_conditions_on_fields_and_metrics(expression: str, expected: bool) -> None:
    assert compile_where(expression).matches(MATH) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "absent < 1",
        "absent > 1",
        "absent == 1",
        "absent != 1",
        "absent in [1, 2]",
        "absent not in [1, 2]",
        "3 in absent",
        "3 not in absent",
        "reward_components.absent >= 0",
        "reward_components.absent.deeper == null",
        "judge_evaluations[5].verdict_label != 'x'",
        "judge_evaluations['x'] != 1",
        "absent + 1 > 0",
        "len(absent) == 0",
        "absent",
    ],
)
def test_a_missing_path_is_false(expression: str) -> None:
    assert compile_where(expression).matches(MATH) is False


def test_not_of_a_missing_path_is_true() -> None:
    assert compile_where("not absent").matches(MATH) is True
    assert compile_where("not (absent == 1)").matches(MATH) is True


@pytest.mark.parametrize(
    "expression", ['reward < "a"', "agent_ref < 1", "reward_components.format / 0 > 1"]
)
def test_values_that_do_not_compare_are_false(expression: str) -> None:
    assert compile_where(expression).matches(MATH) is False


def test_json_spellings_of_constants() -> None:
    record = {"done": True, "error": None}
    assert compile_where("done == true and error == null").matches(record)
    assert compile_where("done == True and error == None").matches(record)
    # A key of that name wins over the constant.
    assert compile_where("null == 5").matches({"null": 5})


@pytest.mark.parametrize(
    ("expression", "column", "message"),
    [
        ("reward <", 9, "invalid syntax"),
        ("reward < 1 )", 12, "unmatched ')'"),
        ("  reward ==== 1", 12, "invalid syntax"),
        ('agent_ref.name == "x', 19, "unterminated string literal"),
        ("reward ** 2 > 1", 8, "operator Pow not supported"),
        ("reward is None", 8, "operator Is not supported; compare with == null instead"),
        ("agent_ref.name.startswith('m')", 1, "unknown function"),
        ('__import__("os")', 1, "unknown function"),
        ("reward < 1 and open('x')", 16, "unknown function"),
        ("[x for x in judge_evaluations]", 1, "ListComp not supported"),
        ("(lambda: 1)()", 1, "unknown function"),
        ("x := 1", 3, "invalid syntax"),
        ("", 1, "empty condition"),
        ("len(x=1) > 0", 1, "functions take no keyword arguments"),
    ],
)
def test_a_malformed_expression_names_the_column(
    expression: str, column: int, message: str
) -> None:
    with pytest.raises(WhereError) as raised:
        compile_where(expression)
    assert raised.value.column == column
    assert raised.value.message.startswith(message)
    assert str(raised.value) == f"{raised.value.message} at column {column}: {expression}"


def test_a_compiled_condition_pickles_for_worker_processes() -> None:
    condition = pickle.loads(pickle.dumps(compile_where("reward < 1")))
    assert condition.matches({"reward": 0})
    assert not condition.matches({"reward": 1})


def test_only_json_objects_meet_conditions() -> None:
    conditions = compile_conditions(["true", "not absent"])
    assert matches_all(conditions, {})
    for value in ([1, 2], "text", 3, None):
        assert not matches_all(conditions, value)
    assert matches_all((), [1, 2])


@settings(max_examples=examples(200))
@given(json_objects)
def test_any_record_gives_a_boolean_and_equality_reads_the_key(record: dict[str, Any]) -> None:
    for key, value in record.items():
        if not _plain_name(key):
            continue
        condition = compile_where(f"{key} == {key}")
        # A value equals itself, except NaN; every key present is found.
        assert condition.matches(record) is (value == value)  # noqa: PLR0124
    for expression in ("a < 1", "a.b[0] != 'x'", "len(b) > 0", "-a + 1 == 0", "a in [1, 'x']"):
        assert isinstance(compile_where(expression).matches(record), bool)


def _plain_name(key: str) -> bool:
    """A key an expression can name as it is (Python normalizes names to NFKC)."""
    return (
        key.isidentifier()
        and not keyword.iskeyword(key)
        and key not in {"true", "false", "null"}
        and unicodedata.normalize("NFKC", key) == key
    )
