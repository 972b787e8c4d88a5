"""Put a quality report into a few lines of words and figures, for people to read."""

from collections.abc import Mapping
from typing import Any

from coursegen.quality.model import OverlapSection, QualityReport

SHOWN_PAIRS = 5
"""Pairs the overlap line names (the most alike; the report lists them all)."""


def _place(place: list[int]) -> str:
    return ".".join(map(str, place))


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _pairs(overlap: OverlapSection) -> str:
    """The most alike pairs, and how many more there are: one line even for 40 same lessons."""
    shown = ", ".join(
        f"{_place(p.a)}~{_place(p.b)} ({p.similarity:.2f})" for p in overlap.pairs[:SHOWN_PAIRS]
    )
    more = len(overlap.pairs) - SHOWN_PAIRS
    return shown + (f" and {more} more" if more > 0 else "")


def _grounding(r: QualityReport) -> str:
    g = r.grounding
    if not g.sources:
        return "no sources attached"
    return (
        f"{_share(g.lessons_with_citations)} of lessons cite the {g.sources} source(s) "
        f"({g.citations} citations; {g.citations_dropped} failed the check)"
    )


def figures(report: QualityReport | Mapping[str, Any]) -> dict[str, str]:
    """One line per section, in the report's order."""
    r = QualityReport.model_validate(report)
    shape, language, overlap = r.shape, r.language, r.overlap
    requested = f"{shape.requested.themes or '?'}×{shape.requested.topics_per_theme or '?'}"
    delivered = f"{shape.delivered.themes}×{'/'.join(map(str, shape.delivered.topics_per_theme))}"
    pairs = _pairs(overlap)
    uncovered = [c.requirement for c in r.coverage.requirements if not c.covered]
    readability = r.readability
    fidelity, check, length, usage = r.polish_fidelity, r.self_check, r.length, r.usage
    cost = "cost unknown" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
    return {
        "Shape": f"{'ok' if shape.ok else 'NOT ok'}: asked {requested}, got {delivered}"
        + (f", {shape.delivered.lessons_failed} failed" if shape.delivered.lessons_failed else ""),
        "Language": f"{_share(language.share)} in {language.expected}; "
        f"{len(language.off_language)} fields in another language",
        "Overlap": f"max similarity {'–' if overlap.max is None else f'{overlap.max:.2f}'}; "
        f"{len(overlap.pairs)} pairs ≥ {overlap.threshold:.2f}" + (f": {pairs}" if pairs else ""),
        "Coverage": f"{len(r.coverage.requirements) - len(uncovered)}/"
        f"{len(r.coverage.requirements)} requirement items covered"
        + (f"; not: {'; '.join(uncovered)}" if uncovered else ""),
        "Readability": (
            f"polish made {_share(readability.easier_share)} of lessons easier "
            f"({readability.metric})"
            if readability.supported
            else "not scored for this language"
        ),
        "Polish fidelity": f"{fidelity.dropped_terms} key terms and "
        f"{fidelity.dropped_numbers} numbers dropped in {fidelity.lessons_checked} lessons",
        "Self-check": f"{check.min}–{check.max} questions per lesson; "
        f"{len(check.duplicates)} repeated, {len(check.empty_answers)} empty answers",
        "Length": f"{length.min}/{length.median}/{length.max} words per lesson (min/median/max)",
        "Usage": f"{usage.total.total_tokens} tokens in {usage.total.calls} calls; {cost}",
        "Grounding": _grounding(r),
    }
