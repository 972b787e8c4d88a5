"""Render a course's quality report as an HTML appendix."""

from collections.abc import Mapping
from typing import Any

from coursegen.exports._markup import esc


def report_appendix(report: Mapping[str, Any]) -> str:
    """A `<section>` with a row per line of the report's summary (English: it is for authors)."""
    rows = "".join(
        f'<tr><th scope="row">{esc(name)}</th><td>{esc(value)}</td></tr>'
        for name, value in report.get("summary", {}).items()
    )
    return (
        '<section class="quality-report" id="quality-report"><h2>Quality report</h2>'
        f"<table>{rows}</table></section>"
    )
