"""Hypothesis strategies: rollouts Docent's converter accepts, and single faults planted in them.

``NEMOGYM_DOCENT_SOAK=<factor>`` (``make soak``) multiplies every example budget by ``factor`` and
draws fresh random examples; without it the run is derandomized, so ``make test`` is repeatable.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from nemogym_docent.json_paths import render_json_path

SOAK_VARIABLE = "NEMOGYM_DOCENT_SOAK"
SOAK_FACTOR = int(os.environ.get(SOAK_VARIABLE) or 0)

# The default run tries the same examples every time; the soak draws fresh ones.
settings.register_profile(
    "nemogym",
    derandomize=not SOAK_FACTOR,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("nemogym")


def examples(default: int) -> int:
    """An example budget: ``default`` in ``make test``, scaled up in a soak."""
    return default * SOAK_FACTOR if SOAK_FACTOR else default


Path = tuple[str | int, ...]
JSON = Any

# ---------------------------------------------------------------------------------------------
# JSON values

LONE_SURROGATES = st.characters(categories=["Cs"])
texts = st.text(max_size=12) | st.text(
    alphabet=st.characters() | LONE_SURROGATES, min_size=1, max_size=4
)
non_empty_texts = st.text(min_size=1, max_size=10) | st.text(
    alphabet=st.characters() | LONE_SURROGATES, min_size=1, max_size=3
)
big_integers = st.sampled_from([2**63 - 1, 2**63, 2**64 + 1, -(2**63) - 1, 10**30, -(10**40)])
integers = st.integers(-1000, 1000) | st.integers() | big_integers
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.none() | st.booleans() | integers | finite_floats | texts
json_keys = st.sampled_from(["id", "a", "b", "metadata", "x_1"]) | st.text(max_size=6)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(json_keys, children, max_size=3)
    ),
    max_leaves=5,
)
json_objects = st.dictionaries(json_keys, json_values, max_size=4)


def _nest(depth: int, leaf: JSON) -> JSON:
    value = leaf
    for level in range(depth):
        value = {f"k{level}": value} if level % 2 else [value, level]
    return value


deep_values = st.builds(_nest, st.integers(1, 80), json_scalars)
"""JSON nested up to 80 levels: deep, yet well inside Python's recursion limit."""


@cache
def _extra_keys(known: frozenset[str]) -> st.SearchStrategy[dict[str, JSON]]:
    """Keys a converter does not know, beside ``known`` ones (often none)."""
    keys = json_keys.filter(lambda key: key not in known)
    return st.just({}) | st.dictionaries(keys, json_values, min_size=1, max_size=2)


def _with_optional(
    draw: st.DrawFn, item: dict[str, JSON], optional: dict[str, st.SearchStrategy[JSON]]
) -> dict[str, JSON]:
    for key, values in optional.items():
        if draw(st.booleans()):
            item[key] = draw(values)
    return item


def _pick(draw: st.DrawFn, choices: list[Any]) -> Any:
    return choices[draw(st.integers(0, len(choices) - 1))]


# ---------------------------------------------------------------------------------------------
# Items

ITEM_ID_STATUS = {"id": json_values, "status": json_values}
MESSAGE_KEYS = frozenset({"type", "role", "content", "id", "status"})
CALL_KEYS = frozenset({"type", "call_id", "name", "arguments", "id", "status"})
OUTPUT_KEYS = frozenset({"type", "call_id", "output", "id", "status"})
REASONING_KEYS = frozenset({"type", "summary", "encrypted_content", "id", "status"})
TEXT_PART_KEYS = frozenset({"type", "text", "annotations", "logprobs"})
REFUSAL_PART_KEYS = frozenset({"type", "refusal"})
SUMMARY_PART_KEYS = frozenset({"type", "text"})
EMPTY_ENCRYPTED = st.sampled_from([None, False, 0, 0.0, -0.0, "", [], {}])
PART_TYPES = ["input_text", "output_text", "refusal"]


@st.composite
def content_parts(draw: st.DrawFn) -> dict[str, JSON]:
    part_type = draw(st.sampled_from(PART_TYPES))
    if part_type == "refusal":
        return {"type": "refusal", "refusal": draw(texts)} | draw(_extra_keys(REFUSAL_PART_KEYS))
    part = {"type": part_type, "text": draw(texts)}
    part = _with_optional(draw, part, {"annotations": json_values, "logprobs": json_values})
    return part | draw(_extra_keys(TEXT_PART_KEYS))


message_contents = texts | st.lists(content_parts(), max_size=3)


def message(draw: st.DrawFn, role: str) -> dict[str, JSON]:
    item: dict[str, JSON] = {"role": role, "content": draw(message_contents)}
    item_type = draw(st.sampled_from(["message", None, "absent"]))
    if item_type != "absent":
        item["type"] = item_type
    item = _with_optional(draw, item, ITEM_ID_STATUS)
    return item | draw(_extra_keys(MESSAGE_KEYS))


summary_parts = st.builds(
    lambda part_type, text, extra: {"type": part_type, "text": text} | extra,
    st.sampled_from(["summary_text", "text"]),
    texts,
    _extra_keys(SUMMARY_PART_KEYS),
)


def reasoning_item(draw: st.DrawFn) -> dict[str, JSON]:
    item: dict[str, JSON] = {
        "type": "reasoning",
        "summary": draw(st.lists(summary_parts, max_size=3)),
    }
    item = _with_optional(
        draw, item, {"encrypted_content": EMPTY_ENCRYPTED, "content": json_values, **ITEM_ID_STATUS}
    )
    return item | draw(_extra_keys(REASONING_KEYS))


@st.composite
def call_arguments(draw: st.DrawFn) -> JSON:
    """A JSON object, or a JSON text of one in one of several layouts."""
    arguments = draw(json_objects | st.builds(lambda value: {"deep": value}, deep_values))
    if draw(st.booleans()):
        return arguments
    return json.dumps(
        arguments,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2])),
        separators=draw(st.sampled_from([None, (",", ":")])),
    )


arguments_values = call_arguments()


def function_call(draw: st.DrawFn, call_id: str) -> dict[str, JSON]:
    item = {
        "type": "function_call",
        "call_id": call_id,
        "name": draw(non_empty_texts),
        "arguments": draw(arguments_values),
    }
    item = _with_optional(draw, item, ITEM_ID_STATUS)
    return item | draw(_extra_keys(CALL_KEYS))


def function_call_output(draw: st.DrawFn, call_id: str) -> dict[str, JSON]:
    item = {"type": "function_call_output", "call_id": call_id, "output": draw(json_values)}
    item = _with_optional(draw, item, ITEM_ID_STATUS)
    return item | draw(_extra_keys(OUTPUT_KEYS))


NON_ASSISTANT_ROLES = ["system", "developer", "user"]
TURN_PARTS = ["assistant", "reasoning", "call"]


@st.composite
def item_sequences(draw: st.DrawFn) -> list[dict[str, JSON]]:
    """Items in document order: messages and assistant turns (reasoning, text, parallel calls),
    each call answered after it (some never, some twice)."""
    items: list[dict[str, JSON]] = []
    call_ids: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            items.append(message(draw, _pick(draw, NON_ASSISTANT_ROLES)))
            continue
        turn_calls: list[str] = []
        for _ in range(draw(st.integers(1, 4))):
            kind = _pick(draw, TURN_PARTS)
            if kind == "assistant":
                items.append(message(draw, "assistant"))
            elif kind == "reasoning":
                items.append(reasoning_item(draw))
            else:
                reuse = call_ids and draw(st.integers(0, 9)) == 0
                call_id = _pick(draw, call_ids) if reuse else draw(non_empty_texts)
                turn_calls.append(call_id)
                items.append(function_call(draw, call_id))
        call_ids.extend(turn_calls)
        answered = [call_id for call_id in turn_calls if draw(st.booleans())]
        if len(answered) > 1 and draw(st.booleans()):
            answered.reverse()
        if call_ids and draw(st.integers(0, 4)) == 0:
            answered.append(_pick(draw, call_ids))
        items.extend(function_call_output(draw, call_id) for call_id in answered)
    return items


# ---------------------------------------------------------------------------------------------
# Rollouts

RESERVED_TOP_LEVEL = frozenset(
    {"responses_create_params", "response", "reward", "_ng_task_index", "_ng_rollout_index"}
    | {"agent_ref"}
)
response_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": texts,
        "model": texts,
        "created_at": integers | finite_floats,
        "status": json_values,
        "usage": json_values,
    },
)


@st.composite
def rollouts(draw: st.DrawFn) -> dict[str, JSON]:
    """A rollout Docent's converter accepts: every item type, in input and output."""
    sequence = draw(item_sequences())
    if draw(st.integers(0, 3)) == 0:
        request_input: JSON = draw(texts)
        output = sequence
    else:
        split = draw(st.integers(0, len(sequence)))
        request_input, output = sequence[:split], sequence[split:]
        if not sequence:
            output = [message(draw, "assistant")]
    request = {"input": request_input} | draw(_extra_keys(frozenset({"input"})))
    response = {"output": output} | draw(response_fields) | draw(_extra_keys(frozenset({"output"})))
    row: dict[str, JSON] = {
        "responses_create_params": request,
        "response": response,
        "agent_ref": {"name": draw(texts)} | draw(_extra_keys(frozenset({"name"}))),
        "_ng_task_index": draw(integers),
        "_ng_rollout_index": draw(integers),
    }
    if draw(st.integers(0, 4)):
        row["reward"] = draw(json_values)
    row |= draw(_extra_keys(RESERVED_TOP_LEVEL))
    if draw(st.booleans()):
        row = dict(reversed(row.items()))
    return row


valid_rollouts = rollouts()

# ---------------------------------------------------------------------------------------------
# Mutations


@dataclass(frozen=True)
class Mutation:
    """One fault planted in a rollout: what was done and where."""

    kind: str
    path: Path
    rollout: dict[str, JSON]

    @property
    def json_path(self) -> str:
        return render_json_path(self.path)


ODD_VALUES: list[JSON] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    0.5,
    float("nan"),
    float("inf"),
    2**64,
    "",
    "x",
    "\ud800",
    [],
    ["x"],
    [[]],
    {},
    {"x": 1},
]
UNKNOWN_ITEMS: list[JSON] = [
    {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    {"type": "image_generation_call", "result": "AAAA"},
    {"type": "message", "role": "tool", "content": "x"},
    {"type": "item_reference", "id": "msg_1"},
    {"type": None, "content": "x"},
    {"content": "no role"},
    "a string item",
    ["a", "list"],
    7,
]
UNKNOWN_PARTS: list[JSON] = [
    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
    {"type": "input_file", "file_id": "f"},
    {"type": "summary_text", "text": "x"},
    {"text": "no type"},
    "a string part",
    None,
]
NON_EMPTY_ENCRYPTED: list[JSON] = ["gAAAA", 1, -0.5, True, float("nan"), [0], [None], {"a": 1}]
BAD_ARGUMENTS: list[JSON] = ["", "not json", "[1, 2]", "1", "null", '{"a": 1', "NaN", 3, None]


def nodes(value: JSON, path: Path = ()) -> Iterator[tuple[Path, JSON]]:
    """Every node of a JSON value with its path, the root first."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from nodes(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from nodes(child, (*path, index))


def _get(value: JSON, path: Path) -> JSON:
    for part in path:
        value = value[part]
    return value


def _set(value: JSON, path: Path, new: JSON) -> None:
    _get(value, path[:-1])[path[-1]] = new


def _item_lists(row: dict[str, JSON]) -> list[Path]:
    lists: list[Path] = [("response", "output")]
    if isinstance(row["responses_create_params"]["input"], list):
        lists.append(("responses_create_params", "input"))
    return lists


def _items(row: dict[str, JSON], item_type: str) -> list[Path]:
    return [
        (*where, index)
        for where in _item_lists(row)
        for index, item in enumerate(_get(row, where))
        if item.get("type") == item_type
    ]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    """A valid rollout with one fault: a key dropped, a value retyped or nulled, an unknown item or
    part inserted, the call-id wiring broken, encrypted reasoning, or unparsable arguments."""
    row = copy.deepcopy(draw(valid_rollouts))
    everything = [path for path, _ in nodes(row) if path]
    objects = [
        (path, key) for path, value in nodes(row) if isinstance(value, dict) for key in value
    ]
    part_lists = [
        (*path, "content")
        for path, value in nodes(row)
        if isinstance(value, dict) and isinstance(value.get("content"), list) and "role" in value
    ] + [(*path, "summary") for path in _items(row, "reasoning")]
    outputs = _items(row, "function_call_output")
    calls = _items(row, "function_call")
    reasonings = _items(row, "reasoning")
    kinds = ["drop_key", "change_type", "null", "unknown_item"]
    kinds += ["unknown_part"] if part_lists else []
    kinds += ["wiring"] if outputs or calls else []
    kinds += ["encrypted"] if reasonings else []
    kinds += ["bad_arguments"] if calls else []
    kind = draw(st.sampled_from(kinds))

    path: Path
    if kind == "drop_key":
        parent, key = draw(st.sampled_from(objects))
        path = (*parent, key)
        del _get(row, parent)[key]
    elif kind in ("change_type", "null"):
        path = draw(st.sampled_from(everything))
        _set(row, path, None if kind == "null" else draw(st.sampled_from(ODD_VALUES)))
    elif kind == "unknown_item":
        where = draw(st.sampled_from(_item_lists(row)))
        items = _get(row, where)
        index = draw(st.integers(0, len(items)))
        items.insert(index, copy.deepcopy(draw(st.sampled_from(UNKNOWN_ITEMS))))
        path = (*where, index)
    elif kind == "unknown_part":
        where = draw(st.sampled_from(part_lists))
        parts = _get(row, where)
        index = draw(st.integers(0, len(parts)))
        parts.insert(index, copy.deepcopy(draw(st.sampled_from(UNKNOWN_PARTS))))
        path = (*where, index)
    elif kind == "wiring":
        target = draw(st.sampled_from(outputs + calls))
        path = (*target, "call_id")
        _set(row, path, "call_never_made_" + draw(st.text(max_size=3)))
    elif kind == "encrypted":
        path = (*draw(st.sampled_from(reasonings)), "encrypted_content")
        _set(row, path, draw(st.sampled_from(NON_EMPTY_ENCRYPTED)))
    else:
        path = (*draw(st.sampled_from(calls)), "arguments")
        _set(row, path, draw(st.sampled_from(BAD_ARGUMENTS)))
    return Mutation(kind=kind, path=path, rollout=row)


# ---------------------------------------------------------------------------------------------
# What full detail reads

PNG_URI = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n pixels").decode()
METRIC_NAMES = ["correctness", "format", "resolved", "f1", "_ng_attempt_index"]
score_values = st.booleans() | st.integers(-5, 5) | finite_floats
output_parts = st.lists(
    st.sampled_from(
        [
            {"type": "input_text", "text": "Screenshot taken."},
            {"type": "input_image", "detail": "low", "image_url": PNG_URI},
            {"type": "input_file", "filename": "notes.txt", "file_data": "YWJj"},
        ]
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def judge_exchanges(draw: st.DrawFn) -> dict[str, JSON]:
    """A judge's own request and response, as ``judge_evaluations`` entries hold them."""
    exchange: dict[str, JSON] = {
        "responses_create_params": {"input": [message(draw, "user")]},
        "response": {"output": draw(item_sequences()), **draw(response_fields)},
    }
    return _with_optional(draw, exchange, {"verdict_label": texts})


@st.composite
def full_rollouts(draw: st.DrawFn) -> dict[str, JSON]:
    """A rollout Docent's converter accepts, with what only full detail reads: metrics, reward
    components, instructions, reasoning text, structured tool outputs, judge exchanges."""
    row = draw(rollouts())
    for name in draw(st.lists(st.sampled_from(METRIC_NAMES), unique=True, max_size=3)):
        row[name] = draw(score_values)
    if draw(st.booleans()):
        names = st.sampled_from(["correctness", "format", "reward", "style"])
        row["reward_components"] = draw(st.dictionaries(names, score_values, max_size=3))
    if draw(st.booleans()):
        row["responses_create_params"]["instructions"] = draw(texts)
    if draw(st.booleans()):
        row["judge_evaluations"] = draw(st.lists(judge_exchanges(), min_size=1, max_size=2))
    for path in _items(row, "reasoning"):
        if draw(st.booleans()):
            _get(row, path)["content"] = [{"type": "reasoning_text", "text": draw(texts)}]
    for path in _items(row, "function_call_output"):
        if draw(st.booleans()):
            _get(row, path)["output"] = draw(output_parts)
    return row


def one_value_nulled(draw: st.DrawFn, row: dict[str, JSON]) -> dict[str, JSON]:
    """A copy of ``row`` with one of its values (any field, at any depth) set to null."""
    row = copy.deepcopy(row)
    path = draw(st.sampled_from([path for path, _ in nodes(row) if path]))
    _set(row, path, None)
    return row
