"""Check that every stage keeps the course language: template choice, naming and detection."""

import pytest
from pydantic import ValidationError

from coursegen.chains.language import course_language, detect_language
from coursegen.chains.stages import build_course_chains
from coursegen.domain import CourseRequest
from coursegen.prompts import CONTENT, OUTLINE, POLISH, TOPICS


async def _run_all_stages(model, request: CourseRequest) -> None:
    """Run outline -> topics -> content -> polish for the first theme and topic."""
    chains = build_course_chains(model)
    outline = (await chains.outline.ainvoke(request)).output
    topics = (
        await chains.topics.ainvoke({"request": request, "outline": outline, "theme_index": 0})
    ).output
    theme, topic = outline.themes[0], topics.topics[0]
    content = (
        await chains.content.ainvoke(
            {"request": request, "theme": theme, "topics": topics, "topic_index": 0}
        )
    ).output
    await chains.polish.ainvoke(
        {"request": request, "theme": theme, "topic": topic, "content": content}
    )


def _systems(lang: str, name: str) -> list[str]:
    """The four system prompts as the renderers should fill them."""
    return [
        OUTLINE.system[lang].format(
            theme_count=OUTLINE.count_instruction(lang, None), language_name=name
        ),
        TOPICS.system[lang].format(
            topic_count=TOPICS.count_instruction(lang, None), language_name=name
        ),
        CONTENT.system[lang].format(language_name=name, grounding=""),  # no sources
        POLISH.system[lang].format(language_name=name),
    ]


async def test_russian_course_uses_russian_templates_in_every_stage(model, scripted_llm):
    await _run_all_stages(model, CourseRequest(course_name="Основы статистики", language="ru"))
    assert [c.system for c in scripted_llm.calls] == _systems("ru", "русском")
    assert all("Пиши на русском языке." in c.system for c in scripted_llm.calls)
    assert scripted_llm.calls[1].data["theme"]["title"] == "Тема 1"  # the answers were Russian


async def test_german_course_uses_english_templates_naming_german(model, scripted_llm):
    request = CourseRequest(course_name="Statistik für Biologen", language="de")
    await _run_all_stages(model, request)
    calls = scripted_llm.calls
    assert [c.schema for c in calls] == ["Outline", "ThemeTopics", "TopicContent", "PolishedTopic"]
    assert [c.system for c in calls] == _systems("en", "German")
    assert all("- Write in German.\n" in c.system for c in calls)
    assert not any("Пиши" in c.prompt_text or "English" in c.system for c in calls)


async def test_detected_russian_name_renders_russian_prompt(model, scripted_llm):
    await build_course_chains(model).outline.ainvoke({"course_name": "Основы программирования"})
    (call,) = scripted_llm.calls
    assert call.system == _systems("ru", "русском")[0]
    assert call.messages[-1]["content"].startswith("Составь структуру курса.")


async def test_detected_english_name_renders_english_prompt(model, scripted_llm):
    await build_course_chains(model).outline.ainvoke({"course_name": "Data Science"})
    (call,) = scripted_llm.calls
    assert call.system == _systems("en", "English")[0]


@pytest.mark.parametrize(
    ("name", "description", "code"),
    [
        ("Основы программирования на Python", "", "ru"),
        ("Машинное обучение", "", "ru"),
        ("Introduction to Machine Learning", "", "en"),
        ("Data Science", "", "en"),  # langdetect alone says Italian
        ("Kubernetes", "", "en"),  # langdetect alone says German
        ("Rust programming for beginners", "", "en"),  # langdetect alone says Norwegian
        ("Einführung in die Programmierung", "", "de"),
        ("Programmation Python pour débutants", "", "fr"),
        ("Історія України", "", "uk"),
        ("Python", "Курс для тех, кто никогда не программировал", "ru"),
    ],
)
def test_language_none_is_detected(name, description, code):
    request = CourseRequest(course_name=name, description=description)
    assert request.language is None
    assert course_language(request) == code


def test_explicit_language_wins_over_detection():
    assert course_language(CourseRequest(course_name="Основы статистики", language="en")) == "en"


def test_undetectable_text_falls_back_to_english():
    assert detect_language("12345 !!!") == "en"


@pytest.mark.parametrize("code", ["xx", "english", "zz", ""])
def test_unknown_language_code_is_rejected(code):
    with pytest.raises(ValidationError) as info:
        CourseRequest(course_name="Course", language=code)
    (error,) = info.value.errors()
    assert error["loc"] == ("language",)
    assert f"unknown language code {code!r}" in error["msg"]


def test_language_code_is_normalised():
    assert CourseRequest(course_name="Course", language=" DE ").language == "de"
