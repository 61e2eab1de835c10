"""Pydantic models of a NeMo Gym rollout, generated from ``schemas/`` (see ``_generated.py``).

``NemoGymRollout`` is the full format (the lenient mode's input); ``StrictRollout`` and the other
``Strict*`` classes narrow it to what converts exactly, and inherit from the full classes.
"""

from nemogym_docent.models._generated import (
    AdditionalTools,
    AgentRef,
    ApplyPatchCall,
    ApplyPatchCallOutput,
    CodeInterpreterCall,
    Compaction,
    CompactionTrigger,
    ComputerCall,
    ComputerCallOutput,
    ConversationMessage,
    CustomToolCall,
    CustomToolCallOutput,
    EmptyObject,
    EnvironmentResult,
    FailedAttemptRow,
    FileSearchCall,
    FunctionCall,
    FunctionCallOutput,
    ImageGenerationCall,
    InputFile,
    InputImage,
    InputText,
    InputVideo,
    Invocation,
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
    ShellCall,
    ShellCallOutput,
    StrictAgentRef,
    StrictMessage,
    StrictReasoning,
    StrictResponse,
    StrictResponsesCreateParams,
    StrictRollout,
    SummaryPart,
    TokenOnlyMessage,
    ToolSearchCall,
    ToolSearchOutput,
    TrainingFields,
    UserSimResult,
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
    | ShellCall
    | ShellCallOutput
    | ApplyPatchCall
    | ApplyPatchCallOutput
    | ToolSearchCall
    | ToolSearchOutput
)
"""A call item other than a function call, or its output (lenient mode only)."""

ContextItem = Compaction | AdditionalTools | CompactionTrigger
"""An item that changes the model's context rather than the conversation (lenient mode only)."""

Item = (
    Message
    | TokenOnlyMessage
    | FunctionCall
    | FunctionCallOutput
    | Reasoning
    | OtherCall
    | ContextItem
)
"""One item of ``responses_create_params.input`` or ``response.output``."""

MessageContentPart = InputText | OutputText | Refusal | InputImage | InputFile | InputVideo
"""One part of a message's content."""

__all__ = [
    "AdditionalTools",
    "AgentRef",
    "ApplyPatchCall",
    "ApplyPatchCallOutput",
    "CodeInterpreterCall",
    "Compaction",
    "CompactionTrigger",
    "ComputerCall",
    "ComputerCallOutput",
    "ContextItem",
    "ConversationMessage",
    "CustomToolCall",
    "CustomToolCallOutput",
    "EmptyObject",
    "EnvironmentResult",
    "FailedAttemptRow",
    "FileSearchCall",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageGenerationCall",
    "InputFile",
    "InputImage",
    "InputText",
    "InputVideo",
    "Invocation",
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
    "ShellCall",
    "ShellCallOutput",
    "StrictAgentRef",
    "StrictMessage",
    "StrictReasoning",
    "StrictResponse",
    "StrictResponsesCreateParams",
    "StrictRollout",
    "SummaryPart",
    "TokenOnlyMessage",
    "ToolSearchCall",
    "ToolSearchOutput",
    "TrainingFields",
    "UserSimResult",
    "WebSearchCall",
]
