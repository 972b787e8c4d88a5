"""Cut sections into overlapping passages with LangChain's recursive splitter."""

from langchain_text_splitters import RecursiveCharacterTextSplitter

from coursegen.sources.models import Chunk, ParsedSource

CHUNK_CHARS = 1200
OVERLAP_CHARS = 150


def chunk_source(
    source: ParsedSource, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS
) -> list[Chunk]:
    """Passages in reading order; each keeps its section's heading and page."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    chunks: list[Chunk] = []
    for section in source.sections:
        for piece in splitter.split_text(section.text):
            if piece.strip():
                chunks.append(
                    Chunk(index=len(chunks), text=piece, heading=section.heading, page=section.page)
                )
    return chunks
