"""The Markdown book: structure, material choice, unwritten topics, escaping."""

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from coursegen.exports import to_markdown
from tests.support.hostile_course import DRAFT_BODY_OF_POLISHED, HOSTILE_TITLE, POLISHED_BODY

PERMISSIVE = MarkdownIt("commonmark")  # raw HTML on, as many Markdown viewers render


def test_book_has_title_contents_and_every_topic(course):
    book = to_markdown(course)
    assert book.startswith("# Основы программирования: \\<if\\> \\& «циклы»\n")
    assert "## Содержание" in book
    for t, theme in enumerate(course.themes, 1):
        assert f"](#theme-0{t})" in book and f'<a id="theme-0{t}"></a>' in book
        for n, _topic in enumerate(theme.topics, 1):
            anchor = f"theme-0{t}-topic-0{n}"
            assert f"](#{anchor})" in book and f'<a id="{anchor}"></a>' in book
            assert f"### {t}.{n}. " in book


def test_polished_text_wins_over_the_draft(course):
    book = to_markdown(course)
    assert POLISHED_BODY in book
    assert DRAFT_BODY_OF_POLISHED not in book
    assert "> T11: краткое содержание урока." in book
    assert "T12: решение по шагам" in book  # draft-only topic is exported from its content


def test_unwritten_topic_is_listed_with_a_note(course):
    book = to_markdown(course)
    section = book[book.index("### 2.2. ") :]
    assert "Оператор else \\<не написан\\>" in section
    assert "> **Этот урок ещё не написан.**" in section
    course.themes[1].topics[1].error = "provider timeout"
    assert "> **Этот урок не удалось написать.**" in to_markdown(course)


def test_self_check_answers_are_collapsed(course):
    book = to_markdown(course)
    for topic in (course.themes[0].topics[0], course.themes[1].topics[0]):
        for item in topic.content.self_check:
            assert f"<details>\n<summary>Ответ</summary>\n\n{item.answer}\n\n</details>" in book
            assert item.question.replace("<", "&lt;") not in book  # `<` in `1 < 2` is no tag
            assert item.question in book


def test_lesson_headings_sit_below_the_topic_heading(course):
    book = to_markdown(course)
    assert "\n#### Введение\n" in book and "\n# Введение" not in book
    assert "\n#### Разбор\n" in book and "\n##### Разбор\n" not in book  # `##` is not demoted twice
    course.themes[1].topics[0].polished.body_markdown = "### A\n\ntext\n\n#### B\n\n##### C"
    book = to_markdown(course)
    assert "\n#### A\n" in book and "\n##### B\n" in book and "\n###### C" in book


def test_hostile_text_stays_text_even_with_raw_html_on(course):
    book = to_markdown(course)
    assert HOSTILE_TITLE not in book
    rendered = PERMISSIVE.render(book)
    for attack in ("<script", "<img", 'href="javascript:', "<b>", "<i>"):
        assert attack not in rendered, attack
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in rendered
    assert "print('&amp;')" in rendered  # code blocks are left as written


SCRIPT_LINKS = [
    "[z](&#106;avascript:alert(1))",  # an entity in the scheme
    "[r][bad]\n\n[bad]: javascript:alert(2)",  # a reference definition
    "[q](<javascript:alert(3)>)",  # a destination in angle brackets
    "<javascript:alert(4)>",  # an autolink
    "[c](JaVaScRiPt:alert(5))",
    "[d](vbscript:msgbox(6))",
    "- item [e](file:///etc/passwd)",
    "\\[f] then [g](javascript:alert(7))",  # an escape already there
    "![image](https://tracker.example/pixel.png)",  # the HTML export drops images
]


def _every_renderer_link(markdown: str) -> list[Token]:
    """Links and images as a renderer that trusts every destination would see them."""
    parser = MarkdownIt("commonmark")
    parser.validateLink = lambda url: True
    return [
        child
        for token in parser.parse(markdown)
        for child in token.children or []
        if child.type in ("link_open", "image")
    ]


@pytest.mark.parametrize("attack", SCRIPT_LINKS)
def test_script_links_and_images_are_found_by_parsing(course, attack):
    body = f"Before [safe](https://example.org/ok).\n\n{attack}\n\nAfter."
    topic = course.themes[0].topics[0]
    material = topic.polished or topic.content
    material.body_markdown = body
    book = to_markdown(course)
    links = _every_renderer_link(book)
    assert [t for t in links if t.type == "image"] == []
    hrefs = [str(t.attrs["href"]) for t in links]
    assert "https://example.org/ok" in hrefs  # lines without an attack keep their links
    assert not [h for h in hrefs if h.split(":")[0].lower() in ("javascript", "vbscript", "file")]
    assert "alert" in book or "msgbox" in book or "passwd" in book or "pixel" in book  # as text
