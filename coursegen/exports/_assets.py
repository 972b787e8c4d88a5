"""Load the stylesheet and scripts that ship inside the exports."""

from functools import cache
from importlib.resources import files


@cache
def asset(name: str) -> str:
    """The text of `coursegen/exports/assets/<name>`."""
    return files("coursegen.exports").joinpath("assets", name).read_text(encoding="utf-8")
