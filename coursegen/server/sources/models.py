"""Declare a stored source as the API shows it."""

from pydantic import BaseModel, Field

from coursegen.sources.models import SourceKind


class SourceInfo(BaseModel):
    """An uploaded source document."""

    id: str = Field(description="The source's id: pass it in CourseRequest.sources.")
    title: str = Field(description="The document's own title, else its file name.")
    kind: SourceKind = Field(description="pdf, docx, markdown, html or text.")
    pages: int | None = Field(default=None, description="Page count (PDF), else null.")
    chunks: int = Field(description="Passages it was cut into for retrieval.")
    filename: str = Field(description="The uploaded file's name.")
    bytes: int = Field(description="Size of the upload.")
    language: str = Field(description="ISO 639-1 code of its text, as detected.")
    headings: list[str] = Field(default_factory=list, description="Its headings, in order.")
    created_at: float = Field(description="Upload time, Unix seconds.")


class SourcePage(BaseModel):
    """The caller's sources, newest first."""

    items: list[SourceInfo] = Field(description="The sources.")
