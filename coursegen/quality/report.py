"""Build the quality report of a finished course from its request, material and usage."""

from typing import Any

from coursegen.domain import Course, CourseRequest
from coursegen.quality.cost import usage_section
from coursegen.quality.counts import (
    coverage_section,
    grounding_section,
    length_section,
    self_check_section,
    shape_section,
)
from coursegen.quality.fidelity import fidelity_section
from coursegen.quality.language import language_section
from coursegen.quality.model import QualityReport
from coursegen.quality.overlap import overlap_section
from coursegen.quality.readability import readability_section
from coursegen.quality.summary import figures


def build_report(
    request: CourseRequest, course: Course | dict[str, Any], model: str | None = None
) -> QualityReport:
    """Measure a course; deterministic (same course, same report) and without LLM calls."""
    course = Course.model_validate(course)
    language = course.language
    report = QualityReport(
        shape=shape_section(request, course),
        language=language_section(course, language),
        overlap=overlap_section(course),
        coverage=coverage_section(course),
        readability=readability_section(course, language),
        polish_fidelity=fidelity_section(course),
        self_check=self_check_section(course),
        length=length_section(course),
        usage=usage_section(course.usage, model),
        grounding=grounding_section(course, len(request.sources)),
    )
    report.summary = figures(report)
    return report
