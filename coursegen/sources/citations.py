"""Check a lesson's citations against the passages it was given, and renumber its markers."""

import re

from coursegen.domain import Citation, CitedQuote
from coursegen.sources.models import Passage

# `[2]` after a space or punctuation; not `items[2]`, `[2](link)` nor a `[2]: url` definition.
MARKER = re.compile(r"(?<![\w\[\]])\[(\d{1,3})\](?![(:\[])")


def normalise(text: str) -> str:
    """Whitespace collapsed and case folded, for comparing a quote with its passage."""
    return " ".join(text.split()).casefold()


def check_citations(
    cited: list[CitedQuote], passages: list[Passage]
) -> tuple[list[Citation], dict[int, int], int]:
    """Keep the citations whose quote occurs in the passage they name.

    Returns the kept citations (one per passage, in the order cited), the map from the
    passage numbers the model used to reference numbers (1-based, into the kept list) and
    how many were dropped.
    """
    kept: list[Citation] = []
    numbers: dict[int, int] = {}
    dropped = 0
    for item in cited:
        n = item.passage
        passage = passages[n - 1] if 1 <= n <= len(passages) else None
        quote = " ".join(item.quote.split())
        if passage is None or not quote or normalise(quote) not in normalise(passage.text):
            dropped += 1
            continue
        if n in numbers:
            continue  # a second quote of the same passage: its first one stands for it
        numbers[n] = len(kept) + 1
        kept.append(
            Citation(
                source_id=passage.source_id,
                title=passage.title,
                page=passage.page,
                chunk=passage.index,
                quote=quote,
            )
        )
    return kept, numbers, dropped


def renumber(markdown: str, numbers: dict[int, int]) -> str:
    """Point the `[n]` markers at the kept citations; markers of dropped ones go."""

    def swap(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[{numbers[n]}]" if n in numbers else ""

    return MARKER.sub(swap, markdown)


def keep_markers(markdown: str, count: int) -> str:
    """Remove markers past the last citation (a rewrite may invent some)."""
    return MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= count else "", markdown)
