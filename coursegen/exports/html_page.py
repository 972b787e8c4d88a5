"""Export a course as one standalone HTML page with an inline stylesheet and quiz script."""

from collections.abc import Mapping
from typing import Any

from coursegen.domain import Course, CourseTheme
from coursegen.exports._assets import asset
from coursegen.exports._course import CourseInput, load_course, theme_key, topic_key
from coursegen.exports._document import html_page, inline_script, inline_style
from coursegen.exports._glossary import anchor_link, glossary_html
from coursegen.exports._labels import Labels, labels_for
from coursegen.exports._markup import esc, plain_html
from coursegen.exports._report import report_appendix
from coursegen.exports._sections import score_board, topic_html


def to_html(course: CourseInput, report: Mapping[str, Any] | None = None) -> str:
    """The whole course in one HTML file that needs nothing else to open in a browser.

    With a quality report, the page ends with it as an appendix.
    """
    course = load_course(course)
    labels = labels_for(course.language)
    header = (
        f'<header><h1 class="course-title">{esc(course.course_name)}</h1>'
        f"{plain_html(course.description, 'course-description')}</header>"
    )
    themes = "".join(_theme(theme, t, labels) for t, theme in enumerate(course.themes, 1))
    body = "\n".join(
        [
            header,
            _toc(course, labels),
            f"<main>{themes}{glossary_html(course, 2, labels, anchor_link)}</main>",
            report_appendix(report) if report is not None else "",
            score_board(labels),
            inline_script(asset("quiz.js")),
        ]
    )
    return html_page(course.course_name, course.language, body, inline_style(asset("course.css")))


def _toc(course: Course, labels: Labels) -> str:
    entries = []
    for t, theme in enumerate(course.themes, 1):
        topics = "".join(
            f'<li><a href="#{topic_key(t, n)}">{esc(topic.title)}</a></li>'
            for n, topic in enumerate(theme.topics, 1)
        )
        entries.append(
            f'<li><a href="#{theme_key(t)}">{esc(theme.title)}</a><ol>{topics}</ol></li>'
        )
    return f'<nav class="toc"><h2>{esc(labels.contents)}</h2><ol>{"".join(entries)}</ol></nav>'


def _theme(theme: CourseTheme, t: int, labels: Labels) -> str:
    topics = "".join(
        topic_html(topic, topic_key(t, n), 3, labels, interactive=True)
        for n, topic in enumerate(theme.topics, 1)
    )
    heading = f'<h2 class="theme-title">{esc(theme.title)}</h2>'
    description = plain_html(theme.description, "theme-description")
    return f'<section class="theme" id="{theme_key(t)}">{heading}{description}{topics}</section>'
