"""Pydantic models of a NeMo Gym rollout, generated from ``schemas/`` (see ``_generated.py``)."""

from nemogym_docent.models._generated import (
    AgentRef,
    EmptyObject,
    FunctionCall,
    FunctionCallOutput,
    InputText,
    Message,
    OutputText,
    Reasoning,
    Refusal,
    Response,
    ResponsesCreateParams,
    Rollout,
    SummaryPart,
)

Item = Message | FunctionCall | FunctionCallOutput | Reasoning
"""One item of ``responses_create_params.input`` or ``response.output``."""

__all__ = [
    "AgentRef",
    "EmptyObject",
    "FunctionCall",
    "FunctionCallOutput",
    "InputText",
    "Item",
    "Message",
    "OutputText",
    "Reasoning",
    "Refusal",
    "Response",
    "ResponsesCreateParams",
    "Rollout",
    "SummaryPart",
]
