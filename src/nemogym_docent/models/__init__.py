"""Pydantic models of a NeMo Gym rollout, generated from ``schemas/`` (see ``_generated.py``).

``NemoGymRollout`` is the full format (the lenient mode's input); ``StrictRollout`` and the other
``Strict*`` classes narrow it to what converts exactly, and inherit from the full classes.
"""

from nemogym_docent.models._generated import (
    AgentRef,
    CodeInterpreterCall,
    ComputerCall,
    ComputerCallOutput,
    CustomToolCall,
    CustomToolCallOutput,
    EmptyObject,
    FileSearchCall,
    FunctionCall,
    FunctionCallOutput,
    ImageGenerationCall,
    InputFile,
    InputImage,
    InputText,
    InputVideo,
    LocalShellCall,
    LocalShellCallOutput,
    McpApprovalRequest,
    McpApprovalResponse,
    McpCall,
    McpListTools,
    Message,
    NemoGymRollout,
    OutputText,
    Reasoning,
    Refusal,
    Response,
    ResponsesCreateParams,
    StrictAgentRef,
    StrictMessage,
    StrictReasoning,
    StrictResponse,
    StrictResponsesCreateParams,
    StrictRollout,
    SummaryPart,
    TokenOnlyMessage,
    TrainingFields,
    WebSearchCall,
)

OtherCall = (
    McpCall
    | McpListTools
    | McpApprovalRequest
    | McpApprovalResponse
    | CustomToolCall
    | CustomToolCallOutput
    | ComputerCall
    | ComputerCallOutput
    | LocalShellCall
    | LocalShellCallOutput
    | WebSearchCall
    | FileSearchCall
    | CodeInterpreterCall
    | ImageGenerationCall
)
"""An item other than a message, function call or reasoning (lenient mode only)."""

Item = Message | TokenOnlyMessage | FunctionCall | FunctionCallOutput | Reasoning | OtherCall
"""One item of ``responses_create_params.input`` or ``response.output``."""

MessageContentPart = InputText | OutputText | Refusal | InputImage | InputFile | InputVideo
"""One part of a message's content."""

__all__ = [
    "AgentRef",
    "CodeInterpreterCall",
    "ComputerCall",
    "ComputerCallOutput",
    "CustomToolCall",
    "CustomToolCallOutput",
    "EmptyObject",
    "FileSearchCall",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageGenerationCall",
    "InputFile",
    "InputImage",
    "InputText",
    "InputVideo",
    "Item",
    "LocalShellCall",
    "LocalShellCallOutput",
    "McpApprovalRequest",
    "McpApprovalResponse",
    "McpCall",
    "McpListTools",
    "Message",
    "MessageContentPart",
    "NemoGymRollout",
    "OtherCall",
    "OutputText",
    "Reasoning",
    "Refusal",
    "Response",
    "ResponsesCreateParams",
    "StrictAgentRef",
    "StrictMessage",
    "StrictReasoning",
    "StrictResponse",
    "StrictResponsesCreateParams",
    "StrictRollout",
    "SummaryPart",
    "TokenOnlyMessage",
    "TrainingFields",
    "WebSearchCall",
]
