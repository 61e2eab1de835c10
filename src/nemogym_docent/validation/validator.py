"""Validate rollouts against the packaged JSON Schemas and report every fault with its path."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import cache
from typing import Any, cast

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from nemogym_docent.errors import Issue
from nemogym_docent.json_paths import join_json_path, json_type_name, render_json_path
from nemogym_docent.validation.schemas import (
    ROOT_SCHEMA,
    SCHEMA_SUFFIX,
    root_schema,
    schema_names,
    schema_path,
)

_DISCRIMINATOR = "type"


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return {name: json.loads(schema_path(name).read_text("utf-8")) for name in schema_names()}


def schema_files() -> dict[str, dict[str, Any]]:
    """Every packaged schema, parsed, by file name (``items.schema.json``, ...)."""
    return {f"{name}{SCHEMA_SUFFIX}": schema for name, schema in _schemas().items()}


def _is_json_integer(_checker: object, instance: object) -> bool:
    # As Docent's converter and the strict models: 1.0 and true are not integers.
    return type(instance) is int


def _refusing_nan(keyword: str) -> Any:
    """The stock ``keyword`` check, except that NaN fails it, as it fails the models' bounds."""
    stock = Draft202012Validator.VALIDATORS[keyword]

    def check(validator: Any, bound: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if isinstance(instance, float) and math.isnan(instance):
            yield ValidationError(f"NaN is not within the bound {bound}")
            return
        yield from stock(validator, bound, instance, schema)

    return check


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")

RolloutValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={keyword: _refusing_nan(keyword) for keyword in _BOUNDS},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_json_integer),
)


@cache
def rollout_validator(
    root: str = ROOT_SCHEMA, validator_class: Any = RolloutValidator
) -> Validator:
    """One compiled validator for a root schema, with every packaged schema registered.

    ``validator_class`` is ``RolloutValidator`` (JSON Schema 2020-12 with the integer and NaN
    rules of the generated models) or a class extending it.
    """
    # Without "$schema", a $ref into another file keeps this validator class (and so its
    # integer check) instead of switching to the stock validator the dialect names.
    schemas = {
        name: {key: value for key, value in schema.items() if key != "$schema"}
        for name, schema in _schemas().items()
    }
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas.values()
    )
    validator: Validator = validator_class(schemas[root], registry=registry)
    return validator


def validate_nemogym_rollout(rollout: object, *, strict: bool = True) -> list[Issue]:
    """Every place where a rollout breaks the schemas, with the first reason found there (a
    strict narrowing is checked before the definition it narrows); an empty list means valid.

    ``strict`` checks against ``strict-rollout.schema.json`` (what converts exactly);
    ``strict=False`` against ``nemogym-rollout.schema.json`` (NeMo Gym's full format, what the
    lenient mode takes).

    The few rules JSON Schema cannot state (tool-call wiring, argument strings that must hold a
    JSON object, at least one message) are checked when converting.
    """
    return schema_issues(rollout, rollout_validator(root_schema(rollout, strict=strict)))


def schema_issues(rollout: object, validator: Validator) -> list[Issue]:
    """The issues ``validator`` finds, one a JSON path (see ``validate_nemogym_rollout``)."""
    issues: dict[str, Issue] = {}
    try:
        for error in validator.iter_errors(rollout):  # type: ignore[arg-type]
            for issue in _issues(error):
                issues.setdefault(issue.json_path, issue)
    except RecursionError:  # jsonschema recurses into (and reprs) what it reports
        issues.setdefault("", Issue("", "nested too deeply to validate"))
    return list(issues.values())


def _issues(error: ValidationError) -> Iterator[Issue]:
    path = render_json_path(error.absolute_path)
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        chosen = fitting_branch(list(branches.values()))
        if chosen is not None:
            same_place = all(not sub.relative_path for sub in chosen)
            description = (
                error.schema.get("description") if isinstance(error.schema, dict) else None
            )
            if error.validator == "anyOf" and same_place and description:
                yield Issue(path, description)
                return
            for sub in chosen:
                yield from _issues(sub)
            return
        if _lacks_required_tag(error):
            yield Issue(join_json_path(path, _DISCRIMINATOR), "is required")
            return
        yield Issue(path, _no_branch_message(error.instance, list(branches.values())))
        return
    if error.validator == "required":
        instance = cast(dict[str, Any], error.instance)
        for key in [key for key in _value(error) if key not in instance]:
            yield Issue(join_json_path(path, key), "is required")
        return
    yield Issue(path, _message(error))


def fitting_branch(branches: list[list[ValidationError]]) -> list[ValidationError] | None:
    """The errors of the one branch of a failed union that the instance was meant for, if one.

    A branch that refuses the instance for its kind never fits, so the others decide alone.
    """
    fitting = [errors for errors in branches if not _rejects_kind(errors)]
    if len(fitting) > 1:  # e.g. a list of items or a list of lists: drop type-only misfits
        fitting = [errors for errors in fitting if any(e.validator != "type" for e in errors)]
    if len(fitting) > 1:  # an exception to a kind (TokenOnlyMessage) gives way to the kind
        fitting = [errors for errors in fitting if not _is_exception(errors)] or fitting
    return fitting[0] if len(fitting) == 1 else None


def _lacks_required_tag(error: ValidationError) -> bool:
    """Whether an object without ``type`` fails a union whose branches require it."""
    return (
        isinstance(error.instance, dict)
        and _DISCRIMINATOR not in error.instance
        and any(
            sub.validator == "required" and not sub.relative_path and _DISCRIMINATOR in _value(sub)
            for sub in error.context
        )
    )


def _is_exception(errors: list[ValidationError]) -> bool:
    """Whether a union branch is an exception to another kind: its schema says what it is not."""
    return any(isinstance(sub.schema, dict) and "not" in sub.schema for sub in errors)


def _rejects_kind(errors: list[ValidationError]) -> bool:
    """Whether a union branch refuses the instance for its kind (JSON type or ``type`` tag)."""
    for sub in errors:
        at = list(sub.relative_path)
        if not at and sub.validator in ("type", "const", "enum", "not"):
            return True
        if at == [_DISCRIMINATOR]:
            return True
        if (
            not at
            and sub.validator == "required"
            and _DISCRIMINATOR in _value(sub)
            and isinstance(sub.instance, dict)
            and _DISCRIMINATOR not in sub.instance
        ):
            return True
    return False


def _no_branch_message(instance: object, branches: list[list[ValidationError]]) -> str:
    tags: list[object] = []
    kinds: list[str] = []
    for errors in branches:
        for sub in errors:
            at = list(sub.relative_path)
            if at == [_DISCRIMINATOR] and sub.validator == "const":
                tags.append(_value(sub))
            elif at == [_DISCRIMINATOR] and sub.validator == "enum":
                tags.extend(value for value in _value(sub) if value is not None)
            elif not at and sub.validator == "type":
                kinds.append(str(_value(sub)))
            elif not at and sub.validator in ("const", "enum"):
                kinds.append("a specific value")
    if isinstance(instance, dict) and tags:
        tag = instance.get(_DISCRIMINATOR)
        expected = ", ".join(_short(value) for value in dict.fromkeys(tags))
        return f"unsupported type {_short(tag)}; expected one of {expected}"
    expected_kinds = " or ".join(dict.fromkeys(kinds)) or "another value"
    return f"expected {expected_kinds}, got {json_type_name(instance)}"


def _message(error: ValidationError) -> str:
    value = _value(error)
    if error.validator == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        return f"expected {expected}, got {json_type_name(error.instance)}"
    if error.validator == "enum":
        allowed = ", ".join(_short(item) for item in value)
        return f"must be one of {allowed}; got {_short(error.instance)}"
    if error.validator == "const":
        return f"must be {_short(value)}; got {_short(error.instance)}"
    if error.validator == "minLength" and value == 1:
        return "must not be empty"
    return _truncate(error.message)


def _value(error: ValidationError) -> Any:
    """The schema value of the failing keyword (typed loosely by jsonschema)."""
    return error.validator_value


def _short(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return _truncate(text, 60)


def _truncate(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
