"""Export a generated course as Markdown, standalone HTML, SCORM 1.2 or IMS Common Cartridge."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coursegen.exports._course import CourseInput, load_course
from coursegen.exports._slug import ascii_filename, slugify
from coursegen.exports.html_page import to_html
from coursegen.exports.imscc import to_imscc
from coursegen.exports.markdown_book import to_markdown
from coursegen.exports.scorm12 import to_scorm12
from coursegen.names import ExportName, is_export_name


@dataclass(frozen=True)
class ExportSpec:
    """One export: how to build it, its media type and its file name extension."""

    render: Callable[[CourseInput], str | bytes]
    media_type: str
    extension: str
    title: str


# Keyed by the names in coursegen.names (ExportName); tests/exports check the two agree.
EXPORTS: dict[ExportName, ExportSpec] = {
    "md": ExportSpec(to_markdown, "text/markdown; charset=utf-8", "md", "Markdown book"),
    "html": ExportSpec(to_html, "text/html; charset=utf-8", "html", "Standalone HTML page"),
    "scorm": ExportSpec(to_scorm12, "application/zip", "scorm12.zip", "SCORM 1.2 package"),
    "imscc": ExportSpec(to_imscc, "application/zip", "imscc", "IMS Common Cartridge 1.3"),
}


def export_course(
    course: CourseInput, fmt: str, report: Mapping[str, Any] | None = None
) -> tuple[bytes, str, str]:
    """Build one export: `(content, media_type, filename)`; unknown `fmt` is a ValueError.

    A quality report is appended to the HTML page; other formats do not take one.
    """
    if not is_export_name(fmt):
        raise ValueError(f"unknown export format {fmt!r}; use one of: {', '.join(EXPORTS)}")
    spec = EXPORTS[fmt]
    if report is not None and fmt != "html":
        raise ValueError(f"a report appendix is for html only, not {fmt!r}")
    course = load_course(course)
    content = to_html(course, report) if report is not None else spec.render(course)
    data = content.encode("utf-8") if isinstance(content, str) else content
    return data, spec.media_type, export_filename(course.course_name, fmt)


def export_filename(course_name: str, fmt: str) -> str:
    """The file name of an export (`основы-python.md`), or of the course as `json`.

    The server's downloads and the CLI's saved files share this one rule.
    """
    extension = EXPORTS[fmt].extension if is_export_name(fmt) else fmt
    return f"{slugify(course_name)}.{extension}"


__all__ = [
    "EXPORTS",
    "ExportSpec",
    "ascii_filename",
    "export_course",
    "export_filename",
    "to_html",
    "to_imscc",
    "to_markdown",
    "to_scorm12",
]
