"""Test each section of the quality report on hand-made courses."""

import pytest

from coursegen.domain import (
    Citation,
    CourseTheme,
    CourseUsage,
    RequirementCoverage,
    TokenUsage,
)
from coursegen.quality._lessons import prose
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
from coursegen.quality.overlap import overlap_section
from coursegen.quality.readability import readability_section
from coursegen.quality.report import build_report
from coursegen.quality.summary import figures
from tests.support.courses import course, lesson, request

RU_CLOSURES = (
    "Замыкание — это функция, которая запоминает переменные из области видимости, где она "
    "была создана. Благодаря этому внутренняя функция продолжает работать с ними позже."
)
RU_LOOPS = (
    "Цикл повторяет набор действий, пока выполняется условие. В языке Python чаще всего "
    "используют цикл по элементам списка или диапазона чисел."
)
EN_CLOSURES = (
    "A closure is a function that remembers the variables of the scope where it was "
    "created, so the inner function can keep using them later."
)
EN_DECORATORS = (
    "Decorators wrap a function in another one to add logging, caching or access checks "
    "without touching the code of the wrapped function itself."
)


def test_shape_counts_what_was_asked_and_what_came() -> None:
    three = course([lesson("a", "x"), lesson("b", "x")], [lesson("c", "x")])
    section = shape_section(request(2, 2), three)
    assert section.delivered.themes == 2 and section.delivered.topics_per_theme == [2, 1]
    assert section.requested.topics_per_theme == 2 and not section.ok
    assert shape_section(request(2, None), three).ok is False  # 2 and 1 are below 3–6 topics
    even = course([lesson("a", "x")], [lesson("b", "x")])
    assert shape_section(request(2, 1), even).ok


def test_shape_is_not_ok_with_a_failed_lesson() -> None:
    failed = lesson("b", "x").model_copy(update={"polished": None, "error": "boom"})
    section = shape_section(request(1, 2), course([lesson("a", "x"), failed]))
    assert section.delivered.lessons_failed == 1 and not section.ok


def test_language_share_and_the_fields_off_language() -> None:
    mixed = course(
        [lesson("Замыкания", RU_CLOSURES), lesson("Loops", EN_DECORATORS)], language="ru"
    )
    section = language_section(mixed, "ru")
    off = {(f.theme, f.topic, f.field) for f in section.off_language}
    assert {(1, 2, "body"), (1, 2, "polished_body")} <= off
    assert all(f.detected == "en" for f in section.off_language if f.field == "body")
    assert not any(f.topic == 1 and f.field == "body" for f in section.off_language)
    assert section.share is not None and 0.2 < section.share < 0.8
    russian = course([lesson("Замыкания", RU_CLOSURES), lesson("Циклы", RU_LOOPS)], language="ru")
    assert language_section(russian, "ru").share == pytest.approx(1.0, abs=0.2)
    assert language_section(russian, "en").share == pytest.approx(0.0, abs=0.2)


def test_language_skips_short_fields_and_code() -> None:
    code = "```python\ndef add(a, b):\n    return a + b\n```\n" + RU_LOOPS
    questions = [("Что делает цикл?", "Повторяет действия.")] * 3
    topic = lesson("Цикл for", code, questions=questions)
    section = language_section(course([topic], language="ru"), "ru")
    assert section.off_language == []  # neither the English code nor "Theme 1" counted
    assert section.share == 1.0 and "return" not in prose(code) and "Python" in prose(code)


def test_overlap_lists_lessons_that_repeat_each_other() -> None:
    alike = course(
        [lesson("a", EN_CLOSURES), lesson("b", EN_DECORATORS)],
        [lesson("c", EN_CLOSURES + " It is the same lesson again.")],
    )
    section = overlap_section(alike)
    assert [(p.a, p.b) for p in section.pairs] == [([1, 1], [2, 1])]
    assert section.pairs[0].similarity >= 0.8 and section.max == section.pairs[0].similarity
    apart = overlap_section(course([lesson("a", EN_CLOSURES), lesson("b", EN_DECORATORS)]))
    assert apart.pairs == [] and apart.max is not None and apart.max < 0.8
    assert overlap_section(course([lesson("a", EN_CLOSURES)])).max is None


def test_the_overlap_line_names_the_most_alike_pairs_and_counts_the_rest() -> None:
    # a model that writes one lesson for every topic: 8 lessons, 28 pairs; the line that the
    # CLI, the page and the HTML appendix show stays one line
    same = course([lesson(f"t{i}", EN_CLOSURES) for i in range(1, 9)])
    report = build_report(request(1, 8), same, None)
    assert len(report.overlap.pairs) == 28
    line = figures(report)["Overlap"]
    assert line.startswith("max similarity 1.00; 28 pairs ≥ 0.80: 1.1~1.2 (1.00), ")
    assert line.count("~") == 5 and line.endswith(" and 23 more")


def test_readability_before_and_after_polish() -> None:
    hard = (
        "Notwithstanding considerable methodological heterogeneity, contemporary "
        "investigations demonstrate that encapsulation substantially facilitates "
        "comprehensibility of sophisticated architectural abstractions."
    )
    easy = "A box hides its parts. You use the box. You do not need to see the parts inside it."
    section = readability_section(course([lesson("a", hard, easy), lesson("b", easy, hard)]), "en")
    first, second = section.lessons
    assert first.polished is not None and first.draft is not None and first.polished > first.draft
    assert second.polished is not None and second.draft is not None
    assert second.polished < second.draft
    assert section.supported and section.easier_share == 0.5
    russian = readability_section(course([lesson("a", RU_CLOSURES)], language="ru"), "ru")
    assert russian.supported and russian.lessons[0].draft is not None
    thai = readability_section(course([lesson("a", EN_CLOSURES)], language="th"), "th")
    assert not thai.supported and thai.lessons == [] and thai.easier_share is None


def test_polish_fidelity_finds_dropped_terms_and_numbers() -> None:
    draft = "A **closure** keeps 3 variables alive for 2.5 seconds; see the **scope** rules."
    polished = "A closure keeps variables alive for 2,5 seconds."
    section = fidelity_section(course([lesson("a", draft, polished, key_terms=["Scope", "Cell"])]))
    assert section.lessons_checked == 1
    (only,) = section.lessons
    assert only.place == [1, 1] and only.dropped_terms == ["Scope"]  # "Cell" was never in it
    assert only.dropped_numbers == ["3"]  # 2.5 and 2,5 are one number
    kept = fidelity_section(course([lesson("a", draft, draft)]))
    assert kept.lessons == [] and kept.dropped_terms == kept.dropped_numbers == 0


def test_self_check_counts_duplicates_and_empty_answers() -> None:
    first = lesson("a", "x", questions=[("What is X?", "X."), ("Why?", "…"), ("How?", "So.")])
    second = lesson("b", "x", questions=[("what is x", "It is x."), ("When?", "Now.")] * 2)
    section = self_check_section(course([first, second]))
    assert section.questions_per_topic == [3, 4] and (section.min, section.max) == (3, 4)
    assert [(d.place, d.question) for d in section.duplicates] == [
        ([1, 2], "what is x"),
        ([1, 2], "what is x"),
        ([1, 2], "When?"),
    ]
    assert [(e.place, e.question) for e in section.empty_answers] == [([1, 1], "Why?")]


def test_length_in_words_of_what_the_learner_reads() -> None:
    lessons = [lesson("a", "one two", "one two three"), lesson("b", "x", "a b c d e")]
    section = length_section(course(lessons, [lesson("c", "x", "**a** b c d e f g")]))
    assert (section.lessons, section.min, section.median, section.max) == (3, 3, 5, 7)


def test_coverage_comes_from_the_course() -> None:
    items = [
        RequirementCoverage(requirement="B1 level", covered_by=[[1, 1]], covered=True),
        RequirementCoverage(requirement="8 weeks", covered_by=[], covered=False),
    ]
    section = coverage_section(course([lesson("a", "x")], coverage=items))
    assert section.requirements == items and section.uncovered == 1


def test_grounding_share_of_cited_lessons() -> None:
    cite = Citation(source_id="s1", title="Manual", chunk=0, quote="q")
    section = grounding_section(
        course(
            [
                lesson("a", "x", citations=[cite, cite], citations_dropped=1),
                lesson("b", "x", citations_dropped=2),
            ]
        )
    )
    assert section.lessons_with_citations == 0.5 and section.citations == 2
    assert section.citations_dropped == 3


def test_grounding_line_says_when_no_sources_were_attached() -> None:
    from coursegen.quality.summary import _grounding

    cite = Citation(source_id="s1", title="Manual", chunk=0, quote="q")
    written = course([lesson("a", "x", citations=[cite], citations_dropped=2)])
    report = build_report(request(1, 1), written)
    assert report.grounding.sources == 0 and _grounding(report) == "no sources attached"
    grounded = report.model_copy(update={"grounding": grounding_section(written, sources=2)})
    assert _grounding(grounded) == (
        "100% of lessons cite the 2 source(s) (1 citations; 2 failed the check)"
    )


def test_usage_cost_from_the_price_table() -> None:
    usage = CourseUsage().add(
        "content",
        TokenUsage(
            prompt_tokens=2_000_000, completion_tokens=1_000_000, total_tokens=3_000_000, calls=4
        ),
    )
    known = usage_section(usage, "openai:gpt-4o-mini")
    assert known.cost_usd == pytest.approx(2 * 0.15 + 1 * 0.60)
    assert known.total.calls == 4 and known.by_stage["content"].prompt_tokens == 2_000_000
    assert usage_section(usage, "local").cost_usd == 0
    unknown = usage_section(usage, "openai:some-local-llama")
    assert unknown.price is None and unknown.cost_usd is None
    # OpenAI's names on another server are not OpenAI's prices; models run here cost nothing.
    assert usage_section(usage, "openai-compatible:gpt-4o-mini").cost_usd is None
    assert usage_section(usage, "sandbox:sandbox").cost_usd == 0
    assert usage_section(usage, "llamacpp:SmolLM2.gguf").cost_usd == 0


def test_whole_report_is_deterministic_and_reads_as_figures() -> None:
    made = course(
        [lesson("a", EN_CLOSURES), lesson("b", EN_DECORATORS)],
        [lesson("c", EN_CLOSURES)],
    )
    made.themes.append(CourseTheme(title="Theme 3", description="x", topics=[]))
    first = build_report(request(3, 2), made, "openai:gpt-4o")
    again = build_report(request(3, 2), made.model_dump(mode="json"), "openai:gpt-4o")
    assert first == again
    lines = figures(first)
    assert lines["Shape"] == "NOT ok: asked 3×2, got 3×2/1/0"
    assert "1 pairs ≥ 0.80: 1.1~2.1 (1.00)" in lines["Overlap"]
    assert list(lines) == [
        "Shape",
        "Language",
        "Overlap",
        "Coverage",
        "Readability",
        "Polish fidelity",
        "Self-check",
        "Length",
        "Usage",
        "Grounding",
    ]
