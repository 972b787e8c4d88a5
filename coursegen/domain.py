"""Declare the domain types: the course request, each stage's output, the course and its usage."""
# One module of ~370 lines on purpose: the types nest (a Course holds themes, topics, lessons,
# citations), checkpoints name them by this module (server/checkpointer.py's allowlist), and
# exports, quality, sources and the server import them from here, below chains/ and graph/.

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    create_model,
    field_validator,
)

from coursegen.names import Stage
from coursegen.prompts import LANGUAGE_NAMES


def json_integer(value: Any) -> Any:
    """A `mode="before"` check for request integers: 3 and 3.0 as JSON Schema has them, not the
    "3" or true that lax validation would turn into one (request booleans are StrictBool)."""
    if isinstance(value, str | bytes | bool):
        raise ValueError("must be a JSON integer")
    return value


# The schema lists the codes the validator below accepts (it also takes them in upper case).
LanguageCode = Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(LANGUAGE_NAMES)})]


class _Strict(BaseModel):
    """Base for inputs: unknown fields are an error, surrounding blanks are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


MAX_THEMES = 12
"""Most themes a course may have, asked for or edited in review."""
# What a name holds: blanks are stripped, so a name of blanks only is empty. \x1c-\x1f:
# Python's \s has them and Rust's (pydantic's) does not; naming them keeps schema and
# server agreed.
NOT_BLANK = r"[^\s\x1c-\x1f]"


class CourseOptions(_Strict):
    """Knobs of one course generation."""

    themes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_THEMES,
        description="Exact number of themes; the model picks 4–8 if unset.",
    )
    topics_per_theme: int | None = Field(
        default=None, ge=1, le=10, description="Exact number of topics per theme; 3–6 if unset."
    )
    review_outline: StrictBool = Field(
        default=False, description="Stop after the outline until a person approves or edits it."
    )
    cover_requirements: StrictBool = Field(
        default=True,
        description="Re-plan the topics once, before any lesson is written, when the topics "
        "leave requirement items uncovered.",
    )
    grounding: Literal["prefer", "strict"] = Field(
        default="prefer",
        description="With sources: prefer (use them where they help) or strict (write only "
        "what they support and say where they are silent).",
        exclude_if=lambda mode: mode == "prefer",  # a request without it dumps as before
    )

    _integers = field_validator("themes", "topics_per_theme", mode="before")(json_integer)


class CourseRequest(_Strict):
    """What a course platform sends to create a course."""

    course_name: str = Field(
        min_length=1,
        max_length=200,
        pattern=NOT_BLANK,
        description="The course's name.",
    )
    description: str = Field(default="", max_length=5000, description="What the course is about.")
    requirements: str = Field(
        default="", max_length=5000, description="Requirements: audience, level, focus, format."
    )
    language: LanguageCode | None = Field(
        default=None,
        description="ISO 639-1 code of the course language (ru, en, de, …); "
        "detected from the course name and description when unset.",
    )
    options: CourseOptions = Field(default_factory=CourseOptions, description="Generation knobs.")
    sources: list[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] = Field(
        default_factory=list,
        max_length=20,
        description="Ids of uploaded sources (POST /sources) to ground the course in.",
        exclude_if=lambda ids: not ids,  # a request without sources dumps as before
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, code: str | None) -> str | None:
        if code is None:
            return None
        code = code.lower()
        if code not in LANGUAGE_NAMES:
            known = ", ".join(sorted(LANGUAGE_NAMES))
            raise ValueError(f"unknown language code {code!r}; use one of: {known}")
        return code


class _Output(BaseModel):
    """Base for model outputs: descriptions become the JSON schema sent to the model."""

    model_config = ConfigDict(extra="ignore")


class ThemeOutline(_Output):
    """One theme of the course outline."""

    title: str = Field(min_length=1, description="Theme title.")
    description: str = Field(min_length=1, description="What the learner studies in this theme.")


class Outline(_Output):
    """The course outline: its themes in order; the first introduces the course."""

    themes: list[ThemeOutline] = Field(min_length=1, description="Themes in order of study.")


class EditedTheme(_Strict):
    """One theme of an outline a person edited."""

    title: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK, description="Theme title.")
    description: str = Field(
        min_length=1, max_length=2000, pattern=NOT_BLANK, description="What the theme covers."
    )


class EditedOutline(_Strict):
    """An outline edited during review: held to a request's limits, as the request is.

    Its number of themes replaces the requested one (within 1–12); the topics per theme stay
    as requested.
    """

    themes: list[EditedTheme] = Field(
        min_length=1, max_length=MAX_THEMES, description="Themes in order of study."
    )


class TopicOutline(_Output):
    """One topic (a small lesson) of a theme."""

    title: str = Field(min_length=1, description="Topic title.")
    description: str = Field(min_length=1, description="What the lesson covers, 1–2 sentences.")
    key_terms: list[str] = Field(
        default_factory=list, description="Key terms this lesson introduces (0–5), as written."
    )


class ThemeTopics(_Output):
    """The topics of one theme."""

    topics: list[TopicOutline] = Field(min_length=1, description="Topics in order of study.")


class ItemCoverage(_Output):
    """Which planned topics satisfy one requirement item."""

    item: int = Field(ge=1, description="Number of the requirement item.")
    topics: list[str] = Field(
        description='Numbers of the topics that satisfy it, as in course_map ("2.3").'
    )
    theme: int = Field(
        default=0, ge=0, description="For an item no topic satisfies: the theme it fits; else 0."
    )


class CoverageMap(_Output):
    """The requirement items of a course and the planned topics that satisfy each."""

    items: list[ItemCoverage] = Field(
        min_length=1, description="One entry per requirement item, in order."
    )


class WorkedExample(_Output):
    """A worked example: a problem and its detailed solution."""

    title: str = Field(description="Short name of the example.")
    problem: str = Field(description="The task or situation.")
    solution: str = Field(description="The worked solution, step by step.")


class SelfCheckQuestion(_Output):
    """A self-check question with its answer."""

    question: str = Field(min_length=1, description="The question.")
    answer: str = Field(min_length=1, description="The expected answer.")


class CitedQuote(_Output):
    """A citation as the model writes it: the passage number and the words it quotes."""

    passage: int = Field(description="Number of the cited passage, as in the course data.")
    quote: str = Field(description="A short phrase copied word for word from that passage.")


class TermDefinition(_Output):
    """A key term the lesson introduces, with its definition."""

    term: str = Field(min_length=1, description="The term, as the topic's key_terms write it.")
    definition: str = Field(min_length=1, description="One or two sentences defining it.")


class _Lesson(_Output):
    """The learning material of one topic."""

    body_markdown: str = Field(min_length=1, description="The lesson in Markdown.")
    key_points: list[str] = Field(min_length=1, description="3–7 main ideas of the lesson.")
    examples: list[WorkedExample] = Field(description="1–3 worked examples.")
    self_check: list[SelfCheckQuestion] = Field(
        min_length=3, max_length=5, description="3–5 self-check questions with answers."
    )
    definitions: list[TermDefinition] = Field(
        default_factory=list, description="Definitions of the key terms this topic introduces."
    )


class TopicContent(_Lesson):
    """The learning material of one topic."""

    citations: list[CitedQuote] = Field(
        default_factory=list,
        description="The source passages the lesson cites as [n]; empty without passages.",
        # Left out of dumps when empty: a course without sources reads as it did before.
        exclude_if=lambda cited: not cited,
    )


# What a content call without source passages is asked for: TopicContent (the same name,
# so a model and its logs see one stage) without `citations`. Offered the field, a model
# fills it with citations of nothing, and every one is then counted as dropped.
UncitedContent: type[_Lesson] = create_model(
    "TopicContent", __base__=_Lesson, __doc__=TopicContent.__doc__
)


class PolishedTopic(_Output):
    """A topic's material rewritten for easier reading."""

    summary: str = Field(min_length=1, description="2–3 sentences: what the lesson gives.")
    body_markdown: str = Field(min_length=1, description="The rewritten lesson in Markdown.")
    key_points: list[str] = Field(min_length=1, description="Main ideas, put briefly.")


class TokenUsage(BaseModel):
    """Tokens spent, as the provider reports them, and the number of calls."""

    prompt_tokens: int = Field(default=0, description="Tokens sent to the model.")
    completion_tokens: int = Field(default=0, description="Tokens the model wrote.")
    total_tokens: int = Field(default=0, description="prompt_tokens + completion_tokens.")
    calls: int = Field(default=0, description="LLM calls made, re-asks included.")

    def __add__(self, other: "TokenUsage") -> "TokenUsage":
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            calls=self.calls + other.calls,
        )


class CourseUsage(BaseModel):
    """Token usage of a course: in total and per stage."""

    total: TokenUsage = Field(default_factory=TokenUsage, description="All stages together.")
    by_stage: dict[Stage, TokenUsage] = Field(default_factory=dict, description="Per stage.")

    def add(self, stage: Stage, usage: TokenUsage) -> "CourseUsage":
        """Return a new total with one stage's usage added."""
        by_stage = dict(self.by_stage)
        by_stage[stage] = by_stage.get(stage, TokenUsage()) + usage
        return CourseUsage(total=self.total + usage, by_stage=by_stage)

    def __add__(self, other: "CourseUsage") -> "CourseUsage":
        merged = self
        for stage, usage in other.by_stage.items():
            merged = merged.add(stage, usage)
        return merged


class Citation(BaseModel):
    """A passage of an uploaded source that a lesson cites, checked against what was retrieved."""

    source_id: str = Field(description="Id of the source document.")
    title: str = Field(description="Title of the source document.")
    page: int | None = Field(default=None, description="1-based page, where the source has pages.")
    chunk: int = Field(description="Index of the retrieved chunk within the source.")
    quote: str = Field(description="The quoted words; they occur in the chunk.")


class Passage(BaseModel):
    """A passage of an uploaded source, retrieved for a lesson's prompt."""

    source_id: str = Field(description="Id of the source document.")
    title: str = Field(description="Title of the source document.")
    index: int = Field(description="0-based position of the chunk within the source.")
    text: str = Field(description="The passage.")
    heading: str = Field(default="", description="Heading path the passage sits under.")
    page: int | None = Field(default=None, description="1-based page it starts on, if paged.")
    score: float = Field(default=0.0, description="Relevance: higher is better.")


class SourceDigest(BaseModel):
    """What the outline and topics calls see of a source: its title and headings."""

    title: str = Field(description="The document's title.")
    headings: list[str] = Field(default_factory=list, description="Its headings, in order.")


class CourseTopic(BaseModel):
    """A topic of the assembled course."""

    title: str = Field(description="Topic title.")
    description: str = Field(description="Topic description from the topics stage.")
    content: TopicContent | None = Field(default=None, description="Material (content stage).")
    polished: PolishedTopic | None = Field(default=None, description="Polished material.")
    error: str | None = Field(default=None, description="Why this topic failed, if it did.")
    key_terms: list[str] = Field(
        default_factory=list, description="Key terms this topic introduces (topics stage)."
    )
    citations: list[Citation] = Field(
        default_factory=list, description="Checked citations of uploaded sources, in order."
    )
    citations_dropped: int = Field(
        default=0, description="Citations the model wrote that failed the check (not kept)."
    )


class CourseTheme(BaseModel):
    """A theme of the assembled course."""

    title: str = Field(description="Theme title.")
    description: str = Field(description="Theme description.")
    topics: list[CourseTopic] = Field(default_factory=list, description="Topics in order.")
    error: str | None = Field(default=None, description="Why the theme's topics failed, if so.")


class GlossaryEntry(BaseModel):
    """A key term of the course, defined once, with the topic that introduces it."""

    term: str = Field(description="The term as the course writes it.")
    definition: str = Field(description="Its definition, as the introducing lesson gives it.")
    theme: int = Field(description="1-based number of the theme that introduces it.")
    topic: int = Field(description="1-based number of the topic (within the theme).")


class RequirementCoverage(BaseModel):
    """One item of the request's requirements and the topics that satisfy it."""

    requirement: str = Field(description="The requirement item, as split from the request.")
    covered_by: list[list[int]] = Field(
        default_factory=list, description="1-based [theme, topic] pairs that satisfy it."
    )
    covered: bool = Field(description="Whether at least one topic satisfies it.")


class Course(BaseModel):
    """The whole generated course."""

    course_name: str = Field(description="The course's name.")
    description: str = Field(description="The course description from the request.")
    requirements: str = Field(description="The requirements from the request.")
    language: str = Field(description="ISO 639-1 code the course is written in.")
    themes: list[CourseTheme] = Field(description="Themes in order, with their topics.")
    usage: CourseUsage = Field(description="Token usage per stage and in total.")
    glossary: list[GlossaryEntry] = Field(
        default_factory=list, description="Key terms: definition and introducing topic."
    )
    coverage: list[RequirementCoverage] = Field(
        default_factory=list, description="Requirement items and the topics covering them."
    )
