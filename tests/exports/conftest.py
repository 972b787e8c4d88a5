"""A small Russian course with hostile text, both kinds of material and an unwritten topic."""

import pytest

from coursegen.domain import (
    Course,
    CourseTheme,
    CourseTopic,
    CourseUsage,
    PolishedTopic,
    SelfCheckQuestion,
    TopicContent,
    WorkedExample,
)

HOSTILE_TITLE = "<script>alert(1)</script>"
POLISHED_BODY = 'Отшлифованный текст урока: a < b && b > c, «кавычки» и "кавычки".'
DRAFT_BODY_OF_POLISHED = "Черновик, который заменён отшлифованным текстом."
DRAFT_BODY = (
    "# Введение\n\nЧерновик урока.\n\n<script>alert(2)</script>\n\n"
    "[Нажми меня](javascript:alert(3)) и <img src=x onerror=alert(4)>\n\n"
    "```python\nif a < b and c > d:\n    print('&')\n```"
)


def _questions(prefix: str) -> list[SelfCheckQuestion]:
    return [
        SelfCheckQuestion(
            question=f"{prefix}: вопрос {i} — верно ли, что 1 < 2 & 3 > 2?",
            answer=f"{prefix}: ответ {i} — да, «верно».",
        )
        for i in range(1, 4)
    ]


def _content(body: str, prefix: str) -> TopicContent:
    return TopicContent(
        body_markdown=body,
        key_points=[f"{prefix}: главное <b>жирно</b>", f"{prefix}: `код` & символы"],
        examples=[
            WorkedExample(
                title=f"{prefix}: пример <i>один</i>",
                problem=f"{prefix}: задача, где x < 10.",
                solution=f"{prefix}: решение по шагам — x = 5.",
            )
        ],
        self_check=_questions(prefix),
    )


def _polished(body: str, prefix: str) -> PolishedTopic:
    return PolishedTopic(
        summary=f"{prefix}: краткое содержание урока.",
        body_markdown=body,
        key_points=[f"{prefix}: отшлифованная мысль"],
    )


def build_course() -> Course:
    """2 themes × 2 topics: polished, draft only, polished, not written."""
    return Course(
        course_name="Основы программирования: <if> & «циклы»",
        description='Курс для "новичков" <без опыта>.\n\nВторой абзац & продолжение.',
        requirements="Уровень A1",
        language="ru",
        themes=[
            CourseTheme(
                title="Тема <1> & «начало»\x07",
                description="Что такое программа & зачем она <нужна>.",
                topics=[
                    CourseTopic(
                        title=HOSTILE_TITLE,
                        description="Урок с опасным заголовком.",
                        content=_content(DRAFT_BODY_OF_POLISHED, "T11"),
                        polished=_polished(POLISHED_BODY, "T11"),
                    ),
                    CourseTopic(
                        title="Переменные & «значения»",
                        description="Урок только с черновиком.",
                        content=_content(DRAFT_BODY, "T12"),
                    ),
                ],
            ),
            CourseTheme(
                title="Условия \"if\" и 'else'",
                description="Ветвления.",
                topics=[
                    CourseTopic(
                        title="Оператор if",
                        description="Как работает if.",
                        content=_content("## Разбор\n\nТекст про if.", "T21"),
                        polished=_polished("## Разбор\n\nТекст про if, отшлифованный.", "T21"),
                    ),
                    CourseTopic(
                        title="Оператор else <не написан>",
                        description="Этот урок ещё не готов.",
                    ),
                ],
            ),
        ],
        usage=CourseUsage(),
    )


@pytest.fixture
def course() -> Course:
    return build_course()
