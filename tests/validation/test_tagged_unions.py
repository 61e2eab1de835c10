"""The tagged item unions that ``scripts/tagged_unions.py`` writes into the generated models:
they take exactly the items the plain unions take (the same class, the same values), and only
unions ``type`` decides are tagged."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from builders import assistant, call, call_output, reasoning, user
from pydantic import TypeAdapter, ValidationError

from nemogym_docent.models import (
    OtherCall,
    Response,
    ResponsesCreateParams,
    StrictResponse,
    StrictResponsesCreateParams,
)
from nemogym_docent.models._generated import (
    FunctionCall,
    FunctionCallOutput,
    Message,
    Reasoning,
    StrictFunctionCall,
    StrictFunctionCallOutput,
    StrictMessage,
    StrictReasoning,
    TokenOnlyMessage,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from tagged_unions import CodeFormatter

PLAIN = {
    "strict": TypeAdapter(
        list[StrictMessage | StrictFunctionCall | StrictFunctionCallOutput | StrictReasoning]
    ),
    "full": TypeAdapter(
        list[Message | TokenOnlyMessage | FunctionCall | FunctionCallOutput | Reasoning | OtherCall]
    ),
}
"""What the generator writes without the custom formatter: Pydantic tries every branch."""


def _item_list(model: Any, field: str) -> TypeAdapter[Any]:
    annotation = model.model_fields[field].annotation
    return TypeAdapter(
        next(arg for arg in (annotation, *get_args(annotation)) if get_origin(arg) is list)
    )


TAGGED = {
    ("strict", "input"): _item_list(StrictResponsesCreateParams, "input"),
    ("strict", "output"): _item_list(StrictResponse, "output"),
    ("full", "input"): _item_list(ResponsesCreateParams, "input"),
    ("full", "output"): _item_list(Response, "output"),
}


def _variants(item: dict[str, Any]) -> list[Any]:
    """The item, and the same item with its ``type`` removed, null, or another kind's."""
    without = {key: value for key, value in item.items() if key != "type"}
    kinds = ["message", "function_call", "function_call_output", "reasoning", "mcp_call", "", "x"]
    return [
        item,
        without,
        {**item, "type": None},
        {**item, "type": 3},
        {**item, "type": ["message"]},
        *({**item, "type": kind} for kind in kinds),
    ]


ITEMS = [
    user("hi"),
    assistant("ok", content=[{"type": "output_text", "text": "ok"}]),
    {"role": "developer", "content": "be brief"},
    call("c1", "lookup", '{"q": 1}'),
    call_output("c1", "found"),
    reasoning("thinking"),
    {"type": "message", "generation_token_ids": [1, 2], "prompt_token_ids": [3]},
    {"type": "mcp_call", "id": "m1", "name": "search", "arguments": "{}", "server_label": "s"},
    {"type": "web_search_call", "id": "w1", "status": "completed"},
]
NOT_ITEMS = [None, [], ["message"], "message", 0, {}]


@pytest.mark.parametrize("where", sorted(TAGGED))
@pytest.mark.parametrize("item", [v for item in ITEMS for v in _variants(item)] + NOT_ITEMS)
def test_a_tagged_union_takes_what_the_plain_union_takes(where: tuple[str, str], item: Any) -> None:
    def verdict(adapter: TypeAdapter[Any]) -> Any:
        try:
            return [
                value.model_dump() | {"class": type(value)}
                for value in adapter.validate_python([item])
            ]
        except ValidationError:
            return "refused"

    assert verdict(TAGGED[where]) == verdict(PLAIN[where[0]])


def test_every_generated_item_list_is_tagged() -> None:
    for adapter in TAGGED.values():
        schema: Any = adapter.core_schema
        if schema["type"] == "definitions":
            schema = schema["schema"]
        assert (schema["type"], schema["items_schema"]["type"]) == ("list", "tagged-union")


CODE = """
from nemogym_docent.models.base import StrictModel


class A(StrictModel):
    type: Literal["a"] | None | MISSING = MISSING


class B(StrictModel):
    type: Literal["b"]


class C(B):
    pass


class D(StrictModel):
    type: Literal["a"]


class E(StrictModel):
    type: Literal["e"] | None


class Holder(StrictModel):
    note: str = "é — not ASCII before a union on the same line"; decided: list[A | C]
    same_tag: list[A | D | C]
    one_tag: list[A | D]
    two_absent: list[A | E]
    not_a_list: A | B
"""


def test_the_formatter_tags_only_unions_that_type_decides() -> None:
    rewritten = CodeFormatter(formatter_kwargs={}).apply(CODE)
    assert 'Annotated[A, Tag("a")] | Annotated[C, Tag("b")]' in rewritten
    assert 'Discriminator(type_tag("a"))' in rewritten
    assert 'Annotated[A | D, Tag("a")] | Annotated[C, Tag("b")]' in rewritten
    assert "one_tag: list[A | D]" in rewritten
    assert "two_absent: list[A | E]" in rewritten
    assert "not_a_list: A | B" in rewritten
