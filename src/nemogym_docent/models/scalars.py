"""Hand-written scalar types that the schemas name with ``customTypePath``."""

from typing import Annotated, Any

from pydantic import PlainValidator


def _require_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    return value


JsonString = Annotated[str, PlainValidator(_require_str)]
"""A string exactly as ``json.loads`` gives it, lone surrogates included.

Pydantic's own ``str`` refuses lone surrogates as soon as a length constraint applies; with this
type the constraint is checked on the Python string, as JSON Schema counts it.
"""
