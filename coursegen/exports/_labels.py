"""Interface words of the exports in the course's language (English when not translated)."""

from dataclasses import dataclass

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "yi"})


@dataclass(frozen=True)
class Labels:
    """Headings, buttons and notes; `{right}`, `{total}`, `{theme}` are filled in later."""

    contents: str
    key_points: str
    examples: str
    problem: str
    solution: str
    self_check: str
    show_answer: str
    answer: str
    right: str
    wrong: str
    score: str
    not_written: str
    failed: str
    quiz_title: str
    no_lms: str
    references: str = "References"
    page: str = "p."
    glossary: str = "Glossary"


ENGLISH = Labels(
    contents="Contents",
    key_points="Key points",
    examples="Worked examples",
    problem="Problem",
    solution="Solution",
    self_check="Self-check",
    show_answer="Show answer",
    answer="Answer",
    right="I got it right",
    wrong="I got it wrong",
    score="Right: {right} of {total}",
    not_written="This topic has not been written yet.",
    failed="This topic could not be written.",
    quiz_title="Self-check: {theme}",
    no_lms="No LMS connection: your result is not saved.",
)

RUSSIAN = Labels(
    contents="Содержание",
    key_points="Главное",
    examples="Разобранные примеры",
    problem="Задача",
    solution="Решение",
    self_check="Проверьте себя",
    show_answer="Показать ответ",
    answer="Ответ",
    right="Я ответил верно",
    wrong="Я ошибся",
    score="Верно: {right} из {total}",
    not_written="Этот урок ещё не написан.",
    failed="Этот урок не удалось написать.",
    quiz_title="Проверьте себя: {theme}",
    no_lms="Нет связи с LMS: результат не сохраняется.",
    references="Источники",
    page="с.",
    glossary="Глоссарий",
)

_BY_LANGUAGE = {"en": ENGLISH, "ru": RUSSIAN}


def labels_for(language: str) -> Labels:
    """The words for an ISO 639-1 code; English for languages without a translation."""
    return _BY_LANGUAGE.get(language.lower(), ENGLISH)


def direction(language: str) -> str:
    """`rtl` for right-to-left scripts, else `ltr` (the HTML `dir` attribute)."""
    return "rtl" if language.lower() in RTL_LANGUAGES else "ltr"
