"""Ground a course in its sources: digests for planning, passages and checked citations per topic.

The sources reach the graph through the run's config (`configurable[SOURCES_KEY]`, an object
with the `SourceLibrary` methods), so the graph needs nothing from the server that holds them.
"""

from typing import Any

from langgraph.config import get_config

from coursegen.chains.stages import SourcedRequest
from coursegen.domain import (
    Citation,
    CitedQuote,
    CourseRequest,
    PolishedTopic,
    ThemeOutline,
    TopicContent,
    TopicOutline,
)
from coursegen.graph.tasks import typed_task
from coursegen.sources.citations import check_citations, keep_markers, renumber
from coursegen.sources.models import Passage, SourceDigest
from coursegen.sources.retriever import SourceLibrary

SOURCES_KEY = "coursegen_sources"
TOP_K = 5


def source_library() -> SourceLibrary | None:
    """The sources the caller of this run passed in its config, if any."""
    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # outside a runnable context
        return None
    return configurable.get(SOURCES_KEY)


async def source_digest(request: CourseRequest) -> list[SourceDigest]:
    """Titles and headings of the request's sources (none without sources)."""
    library = source_library()
    if not request.sources or library is None:
        return []
    return await library.digest(request.sources)


async def with_digest(request: CourseRequest) -> CourseRequest:
    """The request as the outline stage sees it: with its sources' digest, if it has any."""
    digest = await source_digest(request)
    if not digest:
        return request
    return SourcedRequest(**request.model_dump(), source_digest=digest)


def topic_query(request: CourseRequest, theme: ThemeOutline, topic: TopicOutline) -> str:
    """What to search the sources for: the course, theme and topic in words."""
    return " ".join((request.course_name, theme.title, topic.title, topic.description))


@typed_task(name="retrieve")
async def _retrieve(ids: list[str], query: str) -> list[dict[str, Any]]:
    # A task: a resumed run reuses the passages its content call was given.
    library = source_library()
    if library is None:
        return []
    k = getattr(library, "top_k", TOP_K)
    return [p.model_dump() for p in await library.search(ids, query, k)]


async def topic_passages(
    request: CourseRequest, theme: ThemeOutline, topic: TopicOutline
) -> list[Passage]:
    """The top passages for a topic; none (and no task) for a course without sources."""
    if not request.sources:
        return []
    found = await _retrieve(request.sources, topic_query(request, theme, topic))
    return [Passage.model_validate(p) for p in found]


def ground(
    content: TopicContent, passages: list[Passage]
) -> tuple[TopicContent, list[Citation], int]:
    """Keep the citations that hold; point the lesson's markers at them."""
    if not passages and not content.citations:
        return content, [], 0
    kept, numbers, dropped = check_citations(content.citations, passages)
    body = renumber(content.body_markdown, numbers)
    # The lesson's own list now matches its markers: reference n is the n-th kept citation.
    cited = [CitedQuote(passage=n, quote=c.quote) for n, c in enumerate(kept, 1)]
    grounded = content.model_copy(update={"body_markdown": body, "citations": cited})
    return grounded, kept, dropped


def keep_citations(polished: PolishedTopic, citations: list[Citation]) -> PolishedTopic:
    """Drop markers a rewrite invented past the topic's citations."""
    body = keep_markers(polished.body_markdown, len(citations))
    return polished.model_copy(update={"body_markdown": body})
