"""Define the run settings a caller (or `langgraph dev` assistant config) may pass."""

from dataclasses import dataclass, field

from coursegen.names import StructuredMode


@dataclass(kw_only=True)
class Context:
    """Per-run settings of the course graph; what is unset comes from `Settings`."""

    model: str | None = field(
        default=None,
        metadata={
            "description": "Chat model as provider:model (openai:gpt-4o-mini, local, "
            "llamacpp:/path/model.gguf). Unset: COURSEGEN_MODEL, else chosen from the "
            "configured provider."
        },
    )
    structured_output: StructuredMode | None = field(
        default=None,
        metadata={
            "description": "How the model is held to the schema: json_schema, json_mode "
            "or function_calling (for servers without JSON-schema output). Unset: "
            "COURSEGEN_STRUCTURED_OUTPUT (json_schema)."
        },
    )
