"""Check the planned topics against the requirement items, before any lesson is written."""

from dataclasses import dataclass, field

from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp

from coursegen.chains.plan import coverage_of, requirement_items, revision_of
from coursegen.chains.stages import CourseChains, CoverageInput
from coursegen.chains.structured import StructuredOutputError
from coursegen.domain import (
    CourseRequest,
    CourseUsage,
    CoverageMap,
    RequirementCoverage,
    ThemeTopics,
)
from coursegen.graph.tasks import llm_call


@dataclass
class CoverageCheck:
    """What one coverage check found, and what it asks to re-plan."""

    coverage: list[RequirementCoverage] = field(default_factory=list)
    revise: dict[int, list[str]] = field(default_factory=dict)
    """Zero-based theme index -> the uncovered items its topics are re-planned to cover."""
    usage: CourseUsage = field(default_factory=CourseUsage)


async def check_coverage(
    chains: CourseChains,
    request: CourseRequest,
    cmap: list[str],
    plans: list[ThemeTopics | None],
    *,
    may_revise: bool,
) -> CoverageCheck:
    """Map each requirement item to topics (one call) and announce it in a `review` event.

    Empty requirements cost no call. A failed check does not stop the course: it is
    reported as an error event and the course goes on without coverage.
    """
    items = requirement_items(request.requirements)
    if not items:
        return CoverageCheck()
    writer = get_stream_writer()
    inputs = CoverageInput(request=request, items=items, course_map=cmap)
    try:
        done = await llm_call("coverage", chains.coverage, inputs)
    except GraphBubbleUp:
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        writer({"type": "error", "code": "coverage_failed", "message": message, "retryable": True})
        spent = exc.usage if isinstance(exc, StructuredOutputError) else None
        return CoverageCheck(usage=CourseUsage().add("coverage", spent) if spent else CourseUsage())
    answer = CoverageMap.model_validate(done["output"])
    coverage = coverage_of(items, answer, plans)
    revise = {}
    if may_revise and request.options.cover_requirements:
        revise = revision_of(items, answer, coverage, len(plans))
    writer(
        {
            "type": "review",
            "coverage": [c.model_dump(mode="json") for c in coverage],
            "uncovered": [c.requirement for c in coverage if not c.covered],
            "revising": sorted(i + 1 for i in revise),
        }
    )
    return CoverageCheck(coverage, revise, CourseUsage().add("coverage", done["usage"]))
