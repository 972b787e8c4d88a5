"""Hold the stage prompts of the course pipeline and their catalogue metadata."""

from coursegen.prompts._data import data_block
from coursegen.prompts._spec import PromptSpec
from coursegen.prompts.content import CONTENT
from coursegen.prompts.coverage import COVERAGE
from coursegen.prompts.follow_up import MISSING_ITEMS
from coursegen.prompts.languages import LANGUAGE_NAMES, language_name, prompt_language
from coursegen.prompts.outline import OUTLINE
from coursegen.prompts.polish import POLISH
from coursegen.prompts.topics import TOPICS

PROMPTS: dict[str, PromptSpec] = {p.stage: p for p in (OUTLINE, TOPICS, COVERAGE, CONTENT, POLISH)}

__all__ = [
    "CONTENT",
    "COVERAGE",
    "LANGUAGE_NAMES",
    "MISSING_ITEMS",
    "OUTLINE",
    "POLISH",
    "PROMPTS",
    "TOPICS",
    "PromptSpec",
    "data_block",
    "language_name",
    "prompt_language",
]
