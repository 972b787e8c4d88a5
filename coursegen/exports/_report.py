"""Render a course's quality report as an HTML appendix."""

from collections.abc import Mapping
from typing import Any

from coursegen.exports._markup import esc
from coursegen.quality.model import QualityReport
from coursegen.quality.summary import figures


def report_appendix(report: QualityReport | Mapping[str, Any]) -> str:
    """A `<section>` with one table row per report section (in English: it is for authors)."""
    rows = "".join(
        f'<tr><th scope="row">{esc(name)}</th><td>{esc(value)}</td></tr>'
        for name, value in figures(report).items()
    )
    return (
        '<section class="quality-report" id="quality-report"><h2>Quality report</h2>'
        f"<table>{rows}</table></section>"
    )
