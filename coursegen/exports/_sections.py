"""Build the HTML of one topic: lesson, key points, worked examples and self-check quiz."""

from coursegen.domain import Citation, CourseTopic, SelfCheckQuestion, WorkedExample
from coursegen.exports._course import Material, material_of
from coursegen.exports._labels import Labels
from coursegen.exports._markup import esc, md_inline, md_to_html


def topic_html(
    topic: CourseTopic, anchor: str, level: int, labels: Labels, *, interactive: bool
) -> str:
    """A `<section>` with the topic under an `h{level}` heading.

    `interactive` adds the self-marking buttons that `quiz.js` wires up; without it answers
    still open and close (`<details>`), which needs no script at all.
    """
    heading = f'<h{level} class="topic-title">{esc(topic.title)}</h{level}>'
    material = material_of(topic)
    if material is None:
        return f'<section class="topic" id="{anchor}">{heading}{_missing(topic, labels)}</section>'
    parts = [
        heading,
        _lead(material.summary, topic.description),
        f'<div class="lesson">{md_to_html(material.body_markdown, level)}</div>',
        _key_points(material, level + 1, labels),
        _examples(material.examples, level + 1, labels),
        quiz_html(material.self_check, level + 1, labels, interactive=interactive),
        references_html(topic.citations, anchor, level + 1, labels),
    ]
    return f'<section class="topic" id="{anchor}">{"".join(parts)}</section>'


def quiz_html(
    questions: list[SelfCheckQuestion], level: int, labels: Labels, *, interactive: bool
) -> str:
    """The self-check list: each question with its answer behind a `<details>` toggle."""
    if not questions:
        return ""
    items = "".join(_question(q, labels, interactive) for q in questions)
    heading = f"<h{level}>{esc(labels.self_check)}</h{level}>"
    return f'<div class="quiz">{heading}<ol class="questions">{items}</ol></div>'


def references_html(citations: list[Citation], anchor: str, level: int, labels: Labels) -> str:
    """The topic's sources, numbered as the lesson's [n] markers cite them."""
    if not citations:
        return ""
    items = "".join(
        f'<li id="{anchor}-ref-{n}"><cite>{esc(c.title)}</cite>'
        f"{esc(page_note(c, labels))}: <q>{esc(c.quote)}</q></li>"
        for n, c in enumerate(citations, 1)
    )
    heading = f"<h{level}>{esc(labels.references)}</h{level}>"
    return f'<div class="references">{heading}<ol>{items}</ol></div>'


def page_note(citation: Citation, labels: Labels) -> str:
    """`, p. 3` for a paged source, else nothing."""
    return f", {labels.page} {citation.page}" if citation.page else ""


def score_board(labels: Labels) -> str:
    """The live result line that `quiz.js` fills in (hidden until the script runs)."""
    template = esc(labels.score)
    return f'<p class="score" data-template="{template}" aria-live="polite" hidden></p>'


def _question(question: SelfCheckQuestion, labels: Labels, interactive: bool) -> str:
    answer = (
        f'<details class="answer"><summary>{esc(labels.show_answer)}</summary>'
        f"{md_to_html(question.answer)}</details>"
    )
    marks = (
        '<p class="marks" hidden>'
        f'<button type="button" value="1">{esc(labels.right)}</button> '
        f'<button type="button" value="0">{esc(labels.wrong)}</button></p>'
        if interactive
        else ""
    )
    return f'<li class="question">{md_to_html(question.question)}{answer}{marks}</li>'


def _missing(topic: CourseTopic, labels: Labels) -> str:
    note = labels.failed if topic.error else labels.not_written
    return f'<p class="lead">{esc(topic.description)}</p><p class="missing">{esc(note)}</p>'


def _lead(summary: str, description: str) -> str:
    if summary:
        return f'<div class="lead">{md_to_html(summary)}</div>'
    return f'<p class="lead">{esc(description)}</p>'


def _key_points(material: Material, level: int, labels: Labels) -> str:
    if not material.key_points:
        return ""
    items = "".join(f"<li>{md_inline(point)}</li>" for point in material.key_points)
    return f'<h{level}>{esc(labels.key_points)}</h{level}><ul class="key-points">{items}</ul>'


def _examples(examples: list[WorkedExample], level: int, labels: Labels) -> str:
    if not examples:
        return ""
    sub = min(6, level + 1)
    blocks = "".join(
        f'<article class="example"><h{sub}>{esc(ex.title)}</h{sub}>'
        f'<div class="problem"><p class="label">{esc(labels.problem)}</p>'
        f"{md_to_html(ex.problem, sub)}</div>"
        f'<div class="solution"><p class="label">{esc(labels.solution)}</p>'
        f"{md_to_html(ex.solution, sub)}</div></article>"
        for ex in examples
    )
    return f"<h{level}>{esc(labels.examples)}</h{level}>{blocks}"
