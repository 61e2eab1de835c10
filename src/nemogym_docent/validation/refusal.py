"""Explain why the generated models refuse a rollout, with the schemas' issues, quickly.

``validate_nemogym_rollout`` walks a whole rollout with jsonschema, which takes tens of
milliseconds for a real one. A refused rollout is mostly valid: its request, response, items
and content parts that the strict generated models accept are valid under the schemas, so the
walk here passes them without descending and spends its time only where the models refuse.
It also resolves each ``$ref`` once, checks a part met twice once, and walks a union's branch
that refuses the instance's JSON type or ``type`` tag only when its errors are read. The issues
are those of the full walk, in the same order (checked on every fixture, corpus record and
generated fault).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args, get_origin

import orjson
from jsonschema import ValidationError, validators
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as ModelValidationError

from nemogym_docent.errors import Issue
from nemogym_docent.models import (
    Message,
    ResponsesCreateParams,
    StrictMessage,
    StrictResponse,
    StrictResponsesCreateParams,
)
from nemogym_docent.validation.schemas import root_schema
from nemogym_docent.validation.validator import (
    RolloutValidator,
    fitting_branch,
    rollout_validator,
    schema_files,
    schema_issues,
    validate_nemogym_rollout,
)


def explain_refusal(
    rollout: object, *, strict: bool = True, root: str | None = None
) -> list[Issue]:
    """The issues ``validate_nemogym_rollout`` lists for a rollout the generated models refuse
    (against ``root`` when given: the schema of a failed attempt).

    A rollout nested deeper than orjson writes (254 levels), or holding what it cannot write, is
    walked by ``validate_nemogym_rollout`` itself: so deep, where a walk runs out of stack (and
    so the issues) depends on how many frames it takes.
    """
    try:
        orjson.dumps(rollout)
    except orjson.JSONEncodeError:
        if root is None:
            return validate_nemogym_rollout(rollout, strict=strict)
        return schema_issues(rollout, rollout_validator(root))
    root = root or root_schema(rollout, strict=strict)
    known = _KNOWN.set({})
    try:
        return schema_issues(rollout, rollout_validator(root, _ExplainingValidator))
    finally:
        _KNOWN.reset(known)


_KNOWN: ContextVar[dict[tuple[int, int], bool]] = ContextVar("_KNOWN")
"""While a rollout is explained: what is known of its parts, by the ids of a schema (or a model's
check) and of a part. A schema and a part both outlive the explanation, and a part's validity
depends on its value only, so a part met twice (the strict schemas include the full ones) is
checked once."""


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
def trusted_models() -> dict[str, tuple[Accepts, ...]]:
    """For each trusted schema (by title): generated models, tried in turn, such that an
    instance one of them accepts is accepted by the schema too.

    The strict models accept only what the strict schemas accept (as the agreement tests check),
    and each strict schema narrows its full one. Of the full models, those of an item and a
    content part are trusted: they accept only what their schemas accept. The strict model goes
    first: it is the quicker one, and most instances are strict.
    """
    strict_items = _accepted_by(TypeAdapter(_list_element(_field(StrictResponsesCreateParams))))
    strict_parts = _accepted_by(TypeAdapter(_list_element(_field(StrictMessage, "content"))))
    items = _accepted_by(TypeAdapter(_list_element(_field(ResponsesCreateParams))))
    parts = _accepted_by(TypeAdapter(_list_element(_field(Message, "content"))))
    request = _accepted_by(TypeAdapter(StrictResponsesCreateParams))
    response = _accepted_by(TypeAdapter(StrictResponse))
    return {
        "Item": (strict_items, items),
        "StrictItem": (strict_items,),
        "MessageContentPart": (strict_parts, parts),
        "StrictMessageContentPart": (strict_parts,),
        "ResponsesCreateParams": (request,),
        "StrictResponsesCreateParams": (request,),
        "Response": (response,),
        "StrictResponse": (response,),
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
    models = trusted_models().get(title) if isinstance(title, str) else None
    return models is not None and any(_accepts(model, instance) for model in models)


def _accepts(model: Accepts, instance: object) -> bool:
    known, key = _KNOWN.get(), (id(model), id(instance))
    if key not in known:
        known[key] = model(instance)
    return known[key]


_STOCK_ONE_OF = RolloutValidator.VALIDATORS["oneOf"]
_STOCK_ANY_OF = RolloutValidator.VALIDATORS["anyOf"]
_STOCK_ITEMS = RolloutValidator.VALIDATORS["items"]
_RESOLVED: dict[int, tuple[dict[str, Any], Any, Any]] = {}


def _resolved(resolver: Any, schema: dict[str, Any]) -> tuple[Any, Any]:
    """The schema the ``$ref`` of ``schema`` names and its resolver, looked up once: a packaged
    schema has one base URI (only whole files have an ``$id``), so its reference names one place.
    """
    found = _RESOLVED.get(id(schema))
    if found is None or found[0] is not schema:
        resolved = resolver.lookup(schema["$ref"])
        found = _RESOLVED[id(schema)] = (schema, resolved.contents, resolved.resolver)
    return found[1], found[2]


def _ref(validator: Any, ref: Any, instance: Any, schema: Any) -> Any:
    """The stock ``$ref``, resolved once; an instance known to pass the named schema (see
    ``_known_to_pass``) passes unresolved."""
    if not _known_to_pass(validator, schema, instance):
        yield from _referenced(validator, instance, schema)


def _referenced(validator: Any, instance: object, schema: Any) -> list[ValidationError]:
    """The errors of the schema that the ``$ref`` of ``schema`` names."""
    target, resolver = _resolved(validator._resolver, schema)  # as the stock $ref does
    errors = list(validator.descend(instance, target, resolver=resolver))
    if not errors:
        _KNOWN.get()[id(target), id(instance)] = True
    return errors


def _known_to_pass(validator: Any, schema: Any, instance: object) -> bool:
    """Whether the ``$ref`` of ``schema`` surely passes: the model of the named schema accepts
    the instance, or the instance passed that schema before."""
    if _models_accept(refs_to_models().get(schema["$ref"]), instance):
        return True
    target, _ = _resolved(validator._resolver, schema)
    return (id(target), id(instance)) in _KNOWN.get()


_VALIDATING: dict[int, tuple[Any, tuple[str, ...]]] = {}


def _walk(
    validator: Any, instance: object, schema: Any, path: Any = None, schema_path: Any = None
) -> Any:
    """``validator.descend``, except into a schema the instance surely passes (one without a
    keyword that validates, or only a ``$ref`` known to pass), and straight to the named schema
    for one that is only a ``$ref``."""
    found = _VALIDATING.get(id(schema))
    if found is None or found[0] is not schema:
        keys = tuple(key for key in schema if key in validator.VALIDATORS)
        found = _VALIDATING[id(schema)] = (schema, keys)
    if not found[1]:
        return ()
    if found[1] != ("$ref",):
        return validator.descend(instance, schema, path=path, schema_path=schema_path)
    if _known_to_pass(validator, schema, instance):
        return ()
    errors = _referenced(validator, instance, schema)
    for error in errors:  # as descend places them (a $ref adds nothing to the schema path)
        if path is not None:
            error.path.appendleft(path)
        if schema_path is not None:
            error.schema_path.appendleft(schema_path)
    return errors


def _properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
    """The stock ``properties``, walking values with ``_walk``."""
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if name in instance:
                yield from _walk(validator, instance[name], subschema, path=name, schema_path=name)


def _items(validator: Any, items: Any, instance: Any, schema: Any) -> Any:
    """The stock ``items`` (as the packaged schemas use it), walking elements with ``_walk``."""
    if "prefixItems" in schema or not isinstance(items, dict):
        yield from _STOCK_ITEMS(validator, items, instance, schema)
    elif validator.is_type(instance, "array"):
        for index, item in enumerate(instance):
            yield from _walk(validator, item, items, path=index)


def _all_of(validator: Any, all_of: Any, instance: Any, schema: Any) -> Any:
    """The stock ``allOf``, walking each schema with ``_walk``."""
    for index, subschema in enumerate(all_of):
        yield from _walk(validator, instance, subschema, schema_path=index)


@dataclass(frozen=True)
class _Kind:
    """What a union branch states of an instance's kind, through ``allOf`` and ``$ref``: the
    ``type`` lists it must match, whether it requires a ``type`` tag, and the tags its
    ``properties`` allow."""

    types: tuple[list[str], ...]
    tag_required: bool
    tags: tuple[frozenset[str], ...]

    def refuses(self, validator: Any, instance: object) -> bool:
        """Whether the branch fails for the instance's kind, with an error at the instance's
        own place (``type``, or ``required`` naming the tag) or at its tag (``const`` or
        ``enum``)."""
        is_type = validator.is_type
        if any(not any(is_type(instance, name) for name in names) for names in self.types):
            return True
        if not isinstance(instance, dict):
            return False
        if "type" not in instance:
            return self.tag_required
        tag = instance["type"]
        return type(tag) is str and any(tag not in allowed for allowed in self.tags)


def _kind(resolver: Any, branch: object) -> _Kind:
    types: list[list[str]] = []
    tag_required = False
    tags: list[frozenset[str]] = []
    pending = [(resolver, branch)]
    while pending:
        resolver, schema = pending.pop()
        if not isinstance(schema, dict):
            continue
        if "type" in schema:
            types.append([schema["type"]] if isinstance(schema["type"], str) else schema["type"])
        tag_required = tag_required or "type" in schema.get("required", [])
        tag = schema.get("properties", {}).get("type")
        if isinstance(tag, dict):
            allowed = [tag["const"]] if "const" in tag else tag.get("enum")
            if allowed is not None:
                tags.append(frozenset(value for value in allowed if isinstance(value, str)))
        pending.extend((resolver, sub) for sub in schema.get("allOf", []))
        if "$ref" in schema:
            target, target_resolver = _resolved(resolver, schema)
            pending.append((target_resolver, target))
    return _Kind(tuple(types), tag_required, tuple(tags))


_KINDS: dict[int, tuple[list[Any], list[_Kind]]] = {}


def _kinds(validator: Any, branches: list[Any]) -> list[_Kind]:
    found = _KINDS.get(id(branches))
    if found is None or found[0] is not branches:
        resolver = validator._resolver
        found = _KINDS[id(branches)] = (branches, [_kind(resolver, b) for b in branches])
    return found[1]


class _UnionError(ValidationError):
    """A failed union's error whose branch errors are found when first read: most are never
    read (the union is inside a branch that another branch outdoes)."""

    def __init__(self, message: str, find_context: Callable[[], list[ValidationError]]) -> None:
        self._find_context: Callable[[], list[ValidationError]] | None = find_context
        super().__init__(message)

    @property
    def context(self) -> list[ValidationError]:
        if self._find_context is not None:
            found, self._find_context = self._find_context(), None
            for error in found:
                error.parent = self
            self._context = found
        return self._context

    @context.setter
    def context(self, value: list[ValidationError]) -> None:
        self._context = value


def _union(stock: Any, *, one: bool) -> Any:
    """The stock ``oneOf`` (``one``) or ``anyOf``, with the same verdict and issues, faster.

    A branch that refuses the instance's kind (see ``_Kind``) is not walked unless its errors
    change the issues: only when no other branch (or more than one) fits the instance.
    """

    def check(validator: Any, branches: Any, instance: Any, schema: Any) -> Any:
        if one and _models_accept(schema.get("title"), instance):
            return
        failed: dict[int, list[ValidationError]] = {}
        valid = 0
        kinds = _kinds(validator, branches)
        for index, (branch, kind) in enumerate(zip(branches, kinds, strict=True)):
            if kind.refuses(validator, instance):
                continue
            errors = list(validator.descend(instance, branch, schema_path=index))
            if errors:
                failed[index] = errors
            elif one:
                valid += 1
            else:
                return
        if valid > 1:
            yield from stock(validator, branches, instance, schema)
        if valid:
            return
        message = "not valid under any of the given schemas"  # read by no issue
        if fitting_branch(list(failed.values())) is not None:
            yield ValidationError(message, context=[e for errs in failed.values() for e in errs])
            return

        def every_branch() -> list[ValidationError]:
            return [
                error
                for index, branch in enumerate(branches)
                for error in failed.get(index)
                or validator.descend(instance, branch, schema_path=index)
            ]

        yield _UnionError(message, every_branch)

    return check


_ExplainingValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    RolloutValidator,
    validators={
        "oneOf": _union(_STOCK_ONE_OF, one=True),
        "anyOf": _union(_STOCK_ANY_OF, one=False),
        "$ref": _ref,
        "properties": _properties,
        "items": _items,
        "allOf": _all_of,
    },
)
