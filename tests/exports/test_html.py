"""The standalone HTML page: self-contained, escaped, with a working quiz markup."""

from coursegen.exports import to_html
from tests.support.hostile_course import (
    DRAFT_BODY_OF_POLISHED,
    HOSTILE_TITLE,
    POLISHED_BODY,
    build_course,
)
from tests.support.packages import Page


def test_page_is_standalone_and_in_the_course_language(course):
    page = Page(to_html(course))
    (html,) = page.find("html")
    assert html["lang"] == "ru" and html["dir"] == "ltr"
    assert page.find("style") and not page.find("link")
    assert all(script.get("src") is None for script in page.find("script"))
    assert all(ref.startswith("#") for ref in page.refs), page.refs
    ids = {attrs["id"] for _tag, attrs in page.tags if attrs.get("id")}
    assert {ref[1:] for ref in page.refs} <= ids  # every contents link has its target


def test_right_to_left_language_and_untranslated_labels():
    hebrew = build_course().model_copy(update={"language": "he"})
    page = Page(to_html(hebrew))
    assert page.find("html")[0]["dir"] == "rtl"
    assert "Show answer" in page.all_text()


def test_hostile_text_is_escaped(course):
    source = to_html(course)
    page = Page(source)
    assert HOSTILE_TITLE not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in source  # raw HTML in a lesson body
    assert len(page.find("script")) == 1  # only the quiz script
    assert not page.find("img") and not page.find("b") and not page.find("i")
    assert "javascript:" not in "".join(page.refs)
    assert HOSTILE_TITLE in page.all_text()  # shown as text
    assert 'Курс для "новичков" <без опыта>.' in page.all_text()


def test_material_choice_and_unwritten_topic(course):
    text = " ".join(Page(to_html(course)).all_text().split())
    assert POLISHED_BODY in text and DRAFT_BODY_OF_POLISHED not in text
    assert "T12: решение по шагам — x = 5." in text
    assert "Оператор else <не написан>" in text
    assert "Этот урок ещё не написан." in text


def test_quiz_reveals_answers_and_is_scored_in_the_page(course):
    source = to_html(course)
    page = Page(source)
    questions = [a for _t, a in page.tags if a.get("class") == "question"]
    assert len(questions) == 9  # three written topics × three questions
    assert len(page.find("details")) == 9
    assert len(page.find("button")) == 18
    (board,) = [a for _t, a in page.tags if a.get("class") == "score"]
    assert board["data-template"] == "Верно: {right} из {total}"
    assert "coursegenQuiz" in source and 'addEventListener("toggle"' in source
    for item in course.themes[1].topics[0].content.self_check:
        assert item.question in page.all_text() and item.answer in page.all_text()


def test_lesson_headings_nest_one_level_below_the_topic(course):
    topic = course.themes[1].topics[0]
    topic.polished.body_markdown = "## Разбор\n\nТекст.\n\n### Детали\n\nЕщё.\n\n#### Мелочи"
    source = to_html(course)
    section = source[source.index('<h3 class="topic-title">Оператор if</h3>') :]
    # The topic is an h3: its lesson's `##` is an h4, not an h5 smaller than the text.
    assert "<h4>Разбор</h4>" in section and "<h5>Детали</h5>" in section
    assert "<h6>Мелочи</h6>" in section
    # A lesson that starts at `#` nests the same way.
    assert "<h4>Введение</h4>" in source
