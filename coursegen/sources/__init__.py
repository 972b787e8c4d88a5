"""Read uploaded source documents, cut them into passages and retrieve them for the pipeline."""

from coursegen.sources.models import Chunk, ParsedSource, Passage, SourceDigest, SourceError

__all__ = ["Chunk", "ParsedSource", "Passage", "SourceDigest", "SourceError"]
