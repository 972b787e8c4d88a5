"""Declare what a parsed source and its chunks are (passages and digests: coursegen.domain)."""

from typing import Literal

from pydantic import BaseModel, Field

from coursegen.domain import Passage, SourceDigest

SourceKind = Literal["pdf", "docx", "markdown", "html", "text"]


class SourceError(ValueError):
    """An upload that cannot become a source; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class Section(BaseModel):
    """A run of text under one heading (and on one page, where the source has pages)."""

    text: str = Field(description="The text, paragraphs separated by blank lines.")
    heading: str = Field(default="", description="Heading path, outer to inner, joined by ' / '.")
    page: int | None = Field(default=None, description="1-based page, for paged sources.")


class ParsedSource(BaseModel):
    """A document read from an upload, before chunking."""

    title: str = Field(description="The document's own title, else its file name.")
    kind: SourceKind = Field(description="The format it was read as.")
    pages: int | None = Field(default=None, description="Page count, for paged sources.")
    sections: list[Section] = Field(description="The document's text in reading order.")

    @property
    def headings(self) -> list[str]:
        """The distinct headings in order of appearance."""
        return list(dict.fromkeys(s.heading for s in self.sections if s.heading))


class Chunk(BaseModel):
    """One retrievable passage of a source."""

    index: int = Field(description="0-based position within the source.")
    text: str = Field(description="The passage.")
    heading: str = Field(default="", description="Heading path the passage sits under.")
    page: int | None = Field(default=None, description="1-based page it starts on, if paged.")


__all__ = ["Chunk", "ParsedSource", "Passage", "Section", "SourceDigest", "SourceError"]
