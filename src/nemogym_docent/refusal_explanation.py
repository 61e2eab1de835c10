"""Explain why the generated models refuse a rollout, with the schemas' issues, quickly.

``validate_nemogym_rollout`` walks a whole rollout with jsonschema, which takes tens of
milliseconds for a real one. A refused rollout is mostly valid: its request, response, items
and content parts that the strict generated models accept are valid under the schemas, so the
walk here passes them without descending and spends its time only where the models refuse. The
issues are those of the full walk, in the same order (checked on every fixture, corpus record
and generated fault).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, get_args, get_origin

from jsonschema import validators
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as ModelValidationError

from nemogym_docent.issues import Issue
from nemogym_docent.models import (
    Message,
    ResponsesCreateParams,
    StrictMessage,
    StrictResponse,
    StrictResponsesCreateParams,
)
from nemogym_docent.packaged_schemas import FULL_ROOT_SCHEMA, ROOT_SCHEMA
from nemogym_docent.schema_validation import (
    RolloutValidator,
    rollout_validator,
    schema_files,
    schema_issues,
)


def explain_refusal(rollout: object, *, strict: bool = True) -> list[Issue]:
    """The issues ``validate_nemogym_rollout`` lists for a rollout the generated models refuse."""
    root = ROOT_SCHEMA if strict else FULL_ROOT_SCHEMA
    return schema_issues(rollout, rollout_validator(root, _ExplainingValidator))


def _list_element(annotation: Any) -> Any:
    """``X`` of the first ``list[X]`` in a field's annotation (a union)."""
    return next(get_args(arg)[0] for arg in get_args(annotation) if get_origin(arg) is list)


Accepts = Callable[[object], bool]


def _accepted_by(model: TypeAdapter[Any]) -> Accepts:
    def accepts(instance: object) -> bool:
        try:
            model.validate_python(instance)
        except (ModelValidationError, RecursionError):
            return False
        return True

    return accepts


@cache
def trusted_models() -> dict[str, Accepts]:
    """For each trusted schema (by title): whether a generated model accepts an instance that
    the schema accepts too.

    The strict models accept only what the strict schemas accept (as the agreement tests check),
    and each strict schema narrows its full one. Of the full models, those of an item and a
    content part are trusted: they accept only what their schemas accept.
    """
    strict_items = _accepted_by(TypeAdapter(_list_element(_field(StrictResponsesCreateParams))))
    strict_parts = _accepted_by(TypeAdapter(_list_element(_field(StrictMessage, "content"))))
    items = _accepted_by(TypeAdapter(_list_element(_field(ResponsesCreateParams))))
    return {
        "Item": items,
        "StrictItem": strict_items,
        "MessageContentPart": _accepted_by(TypeAdapter(_list_element(_field(Message, "content")))),
        "StrictMessageContentPart": strict_parts,
        "ResponsesCreateParams": _accepted_by(TypeAdapter(StrictResponsesCreateParams)),
        "StrictResponsesCreateParams": _accepted_by(TypeAdapter(StrictResponsesCreateParams)),
        "Response": _accepted_by(TypeAdapter(StrictResponse)),
        "StrictResponse": _accepted_by(TypeAdapter(StrictResponse)),
    }


def _field(model: type[BaseModel], name: str = "input") -> Any:
    return model.model_fields[name].annotation


@cache
def refs_to_models() -> dict[str, str]:
    """The ``$ref`` text that names each trusted schema from another file, to its title."""
    refs: dict[str, str] = {}
    for file_name, schema in schema_files().items():
        if schema.get("title") in trusted_models():
            refs[file_name] = schema["title"]
        for key, definition in schema.get("$defs", {}).items():
            if definition.get("title") in trusted_models():
                refs[f"{file_name}#/$defs/{key}"] = definition["title"]
    return refs


def _models_accept(title: object, instance: object) -> bool:
    accepts = trusted_models().get(title) if isinstance(title, str) else None
    return accepts is not None and accepts(instance)


_STOCK_ONE_OF = RolloutValidator.VALIDATORS["oneOf"]
_STOCK_REF = RolloutValidator.VALIDATORS["$ref"]


def _one_of(validator: Any, one_of: Any, instance: Any, schema: Any) -> Any:
    """The stock ``oneOf``; an instance of a union the generated models accept passes."""
    if _models_accept(schema.get("title"), instance):
        return
    yield from _STOCK_ONE_OF(validator, one_of, instance, schema)


def _ref(validator: Any, ref: Any, instance: Any, schema: Any) -> Any:
    """The stock ``$ref``; an instance the model of the named schema accepts passes unresolved."""
    if _models_accept(refs_to_models().get(ref), instance):
        return
    yield from _STOCK_REF(validator, ref, instance, schema)


_ExplainingValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    RolloutValidator, validators={"oneOf": _one_of, "$ref": _ref}
)
