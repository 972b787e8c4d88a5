"""Detect the language a course should be written in when the request does not say."""

import re
from functools import lru_cache

from langdetect import DetectorFactory, LangDetectException, detect_langs

from coursegen.domain import CourseRequest
from coursegen.prompts import LANGUAGE_NAMES

DetectorFactory.seed = 0  # langdetect is randomised; a fixed seed makes it repeatable
FALLBACK_LANGUAGE = "en"
# Plain-ASCII names are mostly English, yet langdetect reads "Data Science" as Italian and
# "Rust programming for beginners" as Norwegian: short ones or these words decide for English.
_ENGLISH_WORDS = frozenset(
    {"and", "basics", "beginners", "for", "from", "how", "introduction", "of", "the", "to", "with"}
)


def _plain_english(text: str) -> bool:
    if not text.isascii():
        return False
    words = re.findall(r"[a-z]+", text.lower())
    return len(words) < 3 or not _ENGLISH_WORDS.isdisjoint(words)


@lru_cache(maxsize=1024)
def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of the text's language, or English when unsure."""
    # Short Cyrillic names confuse the detector between ru, uk, bg and mk.
    cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in text)
    latin = any(ch.isascii() and ch.isalpha() for ch in text)
    if cyrillic and not latin and not any(ch in "іїєґўІЇЄҐЎ" for ch in text):
        return "ru"
    if _plain_english(text):
        return FALLBACK_LANGUAGE
    try:
        guesses = detect_langs(text)
    except LangDetectException:
        return FALLBACK_LANGUAGE
    for guess in guesses:
        code = guess.lang.split("-")[0]
        if code in LANGUAGE_NAMES:
            return code
    return FALLBACK_LANGUAGE


def course_language(request: CourseRequest) -> str:
    """Return the requested language, else the one of the course name (and description)."""
    if request.language:
        return request.language
    return detect_language(f"{request.course_name}. {request.description}".strip(" ."))
