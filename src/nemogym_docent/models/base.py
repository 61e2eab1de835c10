"""Hand-written base class that the generated models inherit from (``base-class``)."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Strict validation: JSON types only, so ``"3"``, ``1.0`` and ``true`` are not integers."""

    model_config = ConfigDict(strict=True)
