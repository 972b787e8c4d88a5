"""Turn a course name into an ASCII-safe file name stem."""

import re
import unicodedata

FALLBACK = "course"
MAX_LENGTH = 60


def slugify(name: str) -> str:
    """Lowercase ASCII words joined by `-`; `course` when nothing ASCII is left (e.g. Cyrillic)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = slug[:MAX_LENGTH].rstrip("-")
    return slug or FALLBACK
