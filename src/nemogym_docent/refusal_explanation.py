"""Explain why the generated models refuse a rollout, with the schemas' issues, quickly.

``validate_nemogym_rollout`` walks a whole rollout with jsonschema, which takes tens of
milliseconds for a real one. A refused rollout is mostly valid: its request, response, items
and content parts that the generated models accept are valid under the schemas they were
generated from, so the walk here passes them without descending and spends its time only where
the models refuse. Wherever models and schemas agree (the agreement tests check that they do),
the issues are those of the full walk, in the same order (checked on every fixture, corpus record
and generated fault).
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args, get_origin

from jsonschema import validators
from pydantic import TypeAdapter
from pydantic import ValidationError as ModelValidationError

from nemogym_docent.issues import Issue
from nemogym_docent.models import (
    Message,
    Response,
    ResponsesCreateParams,
    StrictMessage,
    StrictResponse,
    StrictResponsesCreateParams,
)
from nemogym_docent.schema_validation import (
    FULL_ROOT_SCHEMA,
    ROOT_SCHEMA,
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


@cache
def models_by_title() -> dict[str, TypeAdapter[Any]]:
    """The generated models trusted here, by the title of the schema each was generated from."""
    unions = {
        "Item": ResponsesCreateParams.model_fields["input"],
        "StrictItem": StrictResponsesCreateParams.model_fields["input"],
        "MessageContentPart": Message.model_fields["content"],
        "StrictMessageContentPart": StrictMessage.model_fields["content"],
    }
    models: dict[str, TypeAdapter[Any]] = {
        title: TypeAdapter(_list_element(field.annotation)) for title, field in unions.items()
    }
    for model in (ResponsesCreateParams, StrictResponsesCreateParams, Response, StrictResponse):
        models[model.__name__] = TypeAdapter(model)
    return models


@cache
def refs_to_models() -> dict[str, str]:
    """The ``$ref`` text that names each trusted schema from another file, to its title."""
    refs: dict[str, str] = {}
    for file_name, schema in schema_files().items():
        if schema.get("title") in models_by_title():
            refs[file_name] = schema["title"]
        for key, definition in schema.get("$defs", {}).items():
            if definition.get("title") in models_by_title():
                refs[f"{file_name}#/$defs/{key}"] = definition["title"]
    return refs


def _models_accept(title: object, instance: object) -> bool:
    model = models_by_title().get(title) if isinstance(title, str) else None
    if model is None:
        return False
    try:
        model.validate_python(instance)
    except (ModelValidationError, RecursionError):
        return False
    return True


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
