"""Which material a topic exports: polished first, then content, else nothing."""

from coursegen.domain import PolishedTopic
from coursegen.exports._course import material_of, questions_of


def test_polished_text_with_the_drafts_examples_and_self_check(course):
    topic = course.themes[0].topics[0]
    material = material_of(topic)
    assert material.body_markdown == topic.polished.body_markdown
    assert material.summary == topic.polished.summary
    assert material.key_points == topic.polished.key_points
    assert material.examples == topic.content.examples
    assert material.self_check == topic.content.self_check


def test_draft_only_and_unwritten_topics(course):
    draft, unwritten = course.themes[0].topics[1], course.themes[1].topics[1]
    assert material_of(draft).body_markdown == draft.content.body_markdown
    assert material_of(draft).summary == ""
    assert material_of(unwritten) is None


def test_polished_without_content_has_no_questions(course):
    topic = course.themes[0].topics[0]
    topic.content = None
    topic.polished = PolishedTopic(summary="s", body_markdown="b", key_points=["k"])
    assert material_of(topic).self_check == []
    assert len(questions_of(course.themes[0].topics)) == 3
