"""Hand-written base class that the generated models inherit from (``base-class``)."""

from typing import TypeVar

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
