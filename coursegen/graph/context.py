"""Define the run settings a caller (or `langgraph dev` assistant config) may pass."""

import os
from dataclasses import dataclass, field

from coursegen.chains.structured import StructuredMode


@dataclass(kw_only=True)
class Context:
    """Per-run settings of the course graph."""

    model: str | None = field(
        default_factory=lambda: os.environ.get("COURSEGEN_MODEL") or None,
        metadata={
            "description": "Chat model as provider:model (openai:gpt-4o-mini, local, "
            "llamacpp:/path/model.gguf). Unset: chosen from the environment."
        },
    )
    structured_output: StructuredMode = field(
        default_factory=lambda: os.environ.get("COURSEGEN_STRUCTURED_OUTPUT", "json_schema"),  # type: ignore[arg-type,return-value]
        metadata={
            "description": "How the model is held to the schema: json_schema, json_mode "
            "or function_calling (for servers without JSON-schema output)."
        },
    )
