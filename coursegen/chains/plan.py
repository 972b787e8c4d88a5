"""Describe the planned course to itself: the course map, requirement items, coverage, glossary."""

import re
from collections.abc import Sequence

from coursegen.domain import (
    CourseTheme,
    CoverageMap,
    GlossaryEntry,
    Outline,
    RequirementCoverage,
    ThemeTopics,
)

# A sentence ends where a capital letter follows ("e.g. examples" stays one item).
_ITEM_SPLIT = re.compile(r"\n+|;\s*|(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-ÞА-ЯЁΑ-Ω])")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s*")
_NUMBER = re.compile(r"^\s*(\d+)\s*\.\s*(\d+)\s*$")


def topic_number(theme_index: int, topic_index: int) -> str:
    """The number a course map gives a topic: "2.3" is theme 2's third topic (1-based)."""
    return f"{theme_index + 1}.{topic_index + 1}"


def course_map(outline: Outline, plans: Sequence[ThemeTopics | None]) -> list[str]:
    """One line per theme and per topic, numbered, with the key terms each topic introduces.

    Compact on purpose: it goes into every content prompt, so it grows by one short line
    per topic of the course.
    """
    lines: list[str] = []
    for i, theme in enumerate(outline.themes):
        lines.append(f"{i + 1}. {theme.title}")
        plan = plans[i] if i < len(plans) else None
        for j, topic in enumerate(plan.topics if plan else []):
            terms = f" — terms: {', '.join(topic.key_terms)}" if topic.key_terms else ""
            lines.append(f"{topic_number(i, j)} {topic.title}{terms}")
    return lines


def requirement_items(requirements: str) -> list[str]:
    """Split free-text requirements into items: lines, bullets, semicolons and sentences."""
    items = (_BULLET.sub("", part).strip().rstrip(".;") for part in _ITEM_SPLIT.split(requirements))
    return [item for item in items if item]


def _topic_ref(ref: str, plans: Sequence[ThemeTopics | None]) -> list[int] | None:
    match = _NUMBER.match(ref)
    if not match:
        return None
    theme, topic = int(match[1]), int(match[2])
    plan = plans[theme - 1] if 1 <= theme <= len(plans) else None
    return [theme, topic] if plan and 1 <= topic <= len(plan.topics) else None


def coverage_of(
    items: list[str], answer: CoverageMap, plans: Sequence[ThemeTopics | None]
) -> list[RequirementCoverage]:
    """Each item with the existing topics the model named; an item it skipped is uncovered."""
    named = {entry.item: entry.topics for entry in answer.items}
    coverage = []
    for n, item in enumerate(items, 1):
        refs = [r for ref in named.get(n, []) if (r := _topic_ref(ref, plans)) is not None]
        unique = [r for k, r in enumerate(refs) if r not in refs[:k]]
        coverage.append(
            RequirementCoverage(requirement=item, covered_by=unique, covered=bool(unique))
        )
    return coverage


def revision_of(
    items: list[str], answer: CoverageMap, coverage: list[RequirementCoverage], themes: int
) -> dict[int, list[str]]:
    """Per zero-based theme index, the uncovered items its topics should be re-planned to cover.

    An item the model placed in no (valid) theme goes to the last theme, the most advanced.
    """
    placed = {entry.item: entry.theme for entry in answer.items}
    revision: dict[int, list[str]] = {}
    for n, (item, cov) in enumerate(zip(items, coverage, strict=True), 1):
        if cov.covered:
            continue
        theme = placed.get(n, 0)
        index = theme - 1 if 1 <= theme <= themes else themes - 1
        revision.setdefault(index, []).append(item)
    return revision


def glossary(themes: Sequence[CourseTheme]) -> list[GlossaryEntry]:
    """Every key term a lesson defined, once, with the first topic (in course order) to define it.

    A lesson's definitions of terms its topic did not declare are kept too: the model found
    them worth defining, and the first definition of a term wins.
    """
    entries: dict[str, GlossaryEntry] = {}
    for i, theme in enumerate(themes):
        for j, topic in enumerate(theme.topics):
            for definition in topic.content.definitions if topic.content else []:
                key = definition.term.strip().casefold()
                if key and key not in entries:
                    entries[key] = GlossaryEntry(
                        term=definition.term.strip(),
                        definition=definition.definition.strip(),
                        theme=i + 1,
                        topic=j + 1,
                    )
    return list(entries.values())
