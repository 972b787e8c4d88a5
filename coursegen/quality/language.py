"""Measure how much of a course is written in the course language (lingua detector)."""

from collections.abc import Iterator
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from coursegen.domain import Course
from coursegen.quality._lessons import prose
from coursegen.quality.model import LanguageSection, OffLanguage

# lingua is chosen over langdetect (which the project uses for whole requests) for short texts.
# Measured on 42 titles, questions, answers and sentences in ru, en, de and es: of the 17 with at
# least 30 letters, langdetect named 16 right and lingua all 17; of 30 texts of 2–7 words,
# langdetect 24 (it took "Что такое API?" for Macedonian, "Key points" for Finnish), lingua 29
# in high-accuracy mode and 26 in low-accuracy mode. High accuracy costs ~230 MB of models for
# the Latin-script languages below (~1.1 GB for all); low accuracy, under 60 MB. So: low accuracy,
# texts of 30 letters and more only (where both modes got every one right), and the course
# language told apart from these common ones.
COMMON_LANGUAGES = ("en", "ru", "de", "es", "fr", "it", "pt", "uk")
MIN_LETTERS = 30


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    builder = LanguageDetectorBuilder.from_languages(*map(_language, codes))
    return builder.with_low_accuracy_mode().build()


def _language(code: str) -> Language:
    return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))


def candidates(expected: str) -> tuple[str, ...]:
    """The languages told apart for a course: its own (when lingua knows it) and the common."""
    known = hasattr(IsoCode639_1, expected.upper())
    return tuple(sorted({*COMMON_LANGUAGES, *([expected] if known else [])}))


def detect(text: str, expected: str) -> str | None:
    """The ISO 639-1 code of the text's language among the candidates; None when unsure."""
    found = _detector(candidates(expected)).detect_language_of(text)
    return found.iso_code_639_1.name.lower() if found else None


def fields(course: Course) -> Iterator[tuple[int, int | None, str, str]]:
    """Every text of the course as (theme, topic or None, field name, plain text)."""
    for t, theme in enumerate(course.themes, 1):
        yield t, None, "title", theme.title
        yield t, None, "description", theme.description
        for n, topic in enumerate(theme.topics, 1):
            yield t, n, "title", topic.title
            yield t, n, "description", topic.description
            if topic.content:
                content = topic.content
                yield t, n, "body", prose(content.body_markdown)
                yield t, n, "key_points", prose(*content.key_points)
                examples = [f"{e.title}. {e.problem} {e.solution}" for e in content.examples]
                yield t, n, "examples", prose(*examples)
                questions = [f"{q.question} {q.answer}" for q in content.self_check]
                yield t, n, "self_check", prose(*questions)
            if topic.polished:
                yield t, n, "summary", prose(topic.polished.summary)
                yield t, n, "polished_body", prose(topic.polished.body_markdown)
                yield t, n, "polished_key_points", prose(*topic.polished.key_points)


def language_section(course: Course, expected: str) -> LanguageSection:
    """Detect each field's language; the share is weighted by letters."""
    judged = in_language = 0
    off: list[OffLanguage] = []
    for theme, topic, field, text in fields(course):
        letters = sum(ch.isalpha() for ch in text)
        if letters < MIN_LETTERS:
            continue
        judged += letters
        detected = detect(text, expected)
        if detected == expected:
            in_language += letters
        else:
            off.append(OffLanguage(theme=theme, topic=topic, field=field, detected=detected))
    share = round(in_language / judged, 3) if judged else None
    return LanguageSection(expected=expected, share=share, judged_letters=judged, off_language=off)
