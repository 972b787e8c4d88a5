"""Define the names every layer and the client share: stages, export formats, output modes."""

from typing import Final, Literal, TypeGuard, get_args

Stage = Literal["outline", "topics", "coverage", "content", "polish"]
"""A kind of LLM call; token usage is counted per stage."""
STAGES: Final[tuple[Stage, ...]] = get_args(Stage)

PROGRESS_STAGES: Final[tuple[Stage, ...]] = ("outline", "topics", "content", "polish")
"""The stages a course's progress counts, in order (the coverage check is one quick call
between topics and content, so progress does not show it)."""

ExportName = Literal["md", "html", "scorm", "imscc"]
"""An export format as the API, the CLI and the client name it."""
EXPORT_NAMES: Final[tuple[ExportName, ...]] = get_args(ExportName)


def is_export_name(name: str) -> TypeGuard[ExportName]:
    """Tell whether `name` is one of the export formats."""
    return name in EXPORT_NAMES


StructuredMode = Literal["json_schema", "json_mode", "function_calling"]
"""How a model is held to an answer's JSON schema."""
STRUCTURED_MODES: Final[tuple[StructuredMode, ...]] = get_args(StructuredMode)
JSON_MODE_SCHEMA_MARKER: Final = "JSON schema of the answer:\n"
"""What json_mode puts before the schema it appends to the last message (models that
answer without a network, the sandbox and the test server, read the schema after it)."""
