"""Hand-written base class that the generated models inherit from (``base-class``)."""

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import MISSING, BaseModel, ConfigDict

T = TypeVar("T")


class StrictModel(BaseModel):
    """Strict validation: JSON types only, so ``"3"``, ``1.0`` and ``true`` are not integers.

    Unlisted keys are allowed, as JSON Schema allows them, and dropped: a schema that keeps them
    says ``"additionalProperties": true`` (the generator then writes ``extra="allow"``, and they
    are in ``model_extra``) or ``false`` to refuse them (``extra="forbid"``).
    """

    model_config = ConfigDict(strict=True, extra="ignore")


def given(value: T | MISSING) -> T | None:
    """A field's value, or ``None`` when the key was absent (the generated models' ``MISSING``).

    The models tell absent from null only to refuse a null the schemas refuse; the mapping
    treats both alike, as Docent's converter does.
    """
    return None if value is MISSING else value


def type_tag(absent: str | None) -> Callable[[Any], str | None]:
    """The discriminator of a generated tagged union of items: an item's ``type``, or
    ``absent`` when it has none or null (``scripts/tagged_unions.py`` writes these unions)."""

    def tag_of(item: Any) -> str | None:
        tag = item.get("type") if isinstance(item, dict) else getattr(item, "type", None)
        if tag is None or tag is MISSING:
            return absent
        return tag if isinstance(tag, str) else None

    return tag_of
