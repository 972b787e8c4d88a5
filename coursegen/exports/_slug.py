"""Turn a course name into a file name: its words in any script, or an ASCII fallback."""

import unicodedata

FALLBACK = "course"
MAX_LENGTH = 60


def slugify(name: str) -> str:
    """Casefolded words of any script joined by `-` (`основы-python`); `course` if none.

    Only letters, marks and digits are kept, so no path separator, dot or control character
    can reach a file name.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in text)
    slug = "-".join(kept.split())[:MAX_LENGTH].rstrip("-")
    return slug or FALLBACK


def ascii_slug(name: str) -> str:
    """The ASCII words of a name (`python` for `Основы Python`); `course` if none."""
    return slugify(unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode())


def ascii_filename(filename: str) -> str:
    """An export's file name with its stem made ASCII (HTTP's plain `filename=` fallback)."""
    stem, dot, extension = filename.partition(".")
    return ascii_slug(stem) + dot + extension
