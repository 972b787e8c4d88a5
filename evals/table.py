"""Lay out evaluation results as the Markdown of docs/quality.md."""

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """One generated course: its request's id, the job's end and its report (when completed)."""

    id: str
    kind: str
    language: str
    status: str
    seconds: float
    report: dict[str, Any] | None


COLUMNS = (
    "course",
    "kind",
    "lang",
    "shape asked → got",
    "in language",
    "overlap max",
    "pairs ≥ 0.8",
    "uncovered",
    "polish easier",
    "dropped terms / numbers",
    "self-check dup / empty",
    "words min / median / max",
    "tokens",
    "cost $",
    "s",
)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def row(result: Result) -> list[str]:
    """The figures of one course (a failed one shows its status)."""
    head = [f"`{result.id}`", result.kind, result.language]
    r = result.report
    if r is None:
        return [*head, result.status, *["–"] * (len(COLUMNS) - 5), f"{result.seconds:.0f}"]
    shape, length, check = r["shape"], r["length"], r["self_check"]
    asked, got = shape["requested"], shape["delivered"]
    topics = "/".join(map(str, got["topics_per_theme"]))
    fidelity = r["polish_fidelity"]
    return [
        *head,
        f"{asked['themes'] or '?'}×{asked['topics_per_theme'] or '?'} → "
        f"{got['themes']}×{topics} {'✓' if shape['ok'] else '✗'}",
        _pct(r["language"]["share"]),
        _num(r["overlap"]["max"]),
        str(len(r["overlap"]["pairs"])),
        str(r["coverage"]["uncovered"]),
        _pct(r["readability"]["easier_share"]),
        f"{fidelity['dropped_terms']} / {fidelity['dropped_numbers']}",
        f"{len(check['duplicates'])} / {len(check['empty_answers'])}",
        f"{length['min']} / {length['median']} / {length['max']}",
        f"{r['usage']['total']['total_tokens']:,}",
        _num(r["usage"]["cost_usd"], 4),
        f"{result.seconds:.0f}",
    ]


def totals(results: list[Result]) -> list[str]:
    """One row over all courses: counts, sums, and the mean of shares (the intro has the time)."""
    reports = [r.report for r in results if r.report is not None]
    shares = [r["language"]["share"] for r in reports if r["language"]["share"] is not None]
    costs = [r["usage"]["cost_usd"] for r in reports]
    return [
        f"**{len(reports)}/{len(results)} completed**",
        "",
        "",
        f"{sum(r['shape']['ok'] for r in reports)} ✓",
        f"mean {_pct(statistics.mean(shares) if shares else None)}",
        _num(max((r["overlap"]["max"] or 0 for r in reports), default=None)),
        str(sum(len(r["overlap"]["pairs"]) for r in reports)),
        str(sum(r["coverage"]["uncovered"] for r in reports)),
        "",
        f"{sum(r['polish_fidelity']['dropped_terms'] for r in reports)} / "
        f"{sum(r['polish_fidelity']['dropped_numbers'] for r in reports)}",
        f"{sum(len(r['self_check']['duplicates']) for r in reports)} / "
        f"{sum(len(r['self_check']['empty_answers']) for r in reports)}",
        "",
        f"{sum(r['usage']['total']['total_tokens'] for r in reports):,}",
        _num(sum(costs), 4) if costs and None not in costs else "–",
        "",
    ]


def markdown(results: list[Result], intro: str) -> str:
    """The whole page: the intro, then one row per course and the totals."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(row(r)) + " |" for r in results),
        "| " + " | ".join(totals(results)) + " |",
    ]
    return intro.rstrip() + "\n\n" + "\n".join(lines) + "\n"
