"""Score each lesson's reading ease before and after polish (textstat's Flesch variants)."""

from textstat.backend import metrics

from coursegen.domain import Course
from coursegen.quality._lessons import written
from coursegen.quality.model import LessonReadability, ReadabilitySection

# Languages for which textstat has a Flesch Reading Ease formula of their own (Amstad for
# German, Fernández Huerta for Spanish, Kandel–Moles for French, Flesch–Vacca for Italian,
# Douma for Dutch, Oborneva's coefficients for Russian); others would get the English one.
LANGUAGES = ("de", "en", "es", "fr", "hu", "it", "nl", "ru")
METRIC = "flesch_reading_ease"
# Fewer words than this give a score that says nothing about the text.
MIN_WORDS = 10


def score(text: str, language: str) -> float | None:
    """Flesch Reading Ease of a plain text (higher: easier); None when too short."""
    if len(text.split()) < MIN_WORDS:
        return None
    # The backend function takes the language per call; textstat's object keeps it global.
    return round(float(metrics.flesch_reading_ease(text, language)), 1)


def readability_section(course: Course, language: str) -> ReadabilitySection:
    """Scores of draft and polished prose; the share of lessons that polish made easier."""
    if language not in LANGUAGES:
        return ReadabilitySection(
            metric=METRIC, supported=False, languages=list(LANGUAGES), lessons=[], easier_share=None
        )
    scored = [
        LessonReadability(
            place=lesson.place,
            draft=score(lesson.draft, language),
            polished=score(lesson.polished, language),
        )
        for lesson in written(course)
    ]
    both = [s for s in scored if s.draft is not None and s.polished is not None]
    easier = sum(1 for s in both if (s.polished or 0) > (s.draft or 0))
    return ReadabilitySection(
        metric=METRIC,
        supported=True,
        languages=list(LANGUAGES),
        lessons=scored,
        easier_share=round(easier / len(both), 3) if both else None,
    )
