"""Declare the quality report of a course: one section per thing measured."""

from pydantic import BaseModel, Field

from coursegen.domain import RequirementCoverage, TokenUsage

Place = list[int]
"""A lesson's place: 1-based [theme, topic]."""


class ShapeCounts(BaseModel):
    """Theme and topic counts the request asked for (null: the model picks within bounds)."""

    themes: int | None = Field(description="Themes asked for.")
    topics_per_theme: int | None = Field(description="Topics per theme asked for.")


class DeliveredShape(BaseModel):
    """What the course has."""

    themes: int = Field(description="Themes in the course.")
    topics_per_theme: list[int] = Field(description="Topics of each theme, in order.")
    lessons_failed: int = Field(description="Topics without polished material (errors).")


class ShapeSection(BaseModel):
    """Whether the course has the shape that was asked for, with every lesson written."""

    requested: ShapeCounts
    delivered: DeliveredShape
    ok: bool = Field(description="Counts as asked (or within 4–8 / 3–6 when unset), no failures.")


class OffLanguage(BaseModel):
    """A field whose text is in another language than the course's."""

    theme: int = Field(description="1-based theme.")
    topic: int | None = Field(description="1-based topic; null for the theme's own fields.")
    field: str = Field(description="Which text: title, description, body, polished_body, …")
    detected: str | None = Field(description="ISO 639-1 code found; null when unsure.")


class LanguageSection(BaseModel):
    """How much of the course is written in the course language."""

    expected: str = Field(description="The course language.")
    share: float | None = Field(
        description="0–1: letters of judged text detected in the course language (null: none)."
    )
    judged_letters: int = Field(description="Letters judged (short fields and code are not).")
    off_language: list[OffLanguage] = Field(description="Fields detected in another language.")


class OverlapPair(BaseModel):
    """Two lessons whose texts are alike."""

    a: Place
    b: Place
    similarity: float = Field(description="0–1 cosine similarity of their TF-IDF vectors.")


class OverlapSection(BaseModel):
    """Lesson pairs that repeat each other."""

    pairs: list[OverlapPair] = Field(description="Pairs from the threshold up, most alike first.")
    max: float | None = Field(description="Highest similarity of any pair (null: < 2 lessons).")
    threshold: float = Field(description="Similarity from which a pair is listed.")
    method: str = Field(description="How similarity is measured.")


class CoverageSection(BaseModel):
    """The request's requirement items and the topics covering them (from the pipeline)."""

    requirements: list[RequirementCoverage]
    uncovered: int = Field(description="Items no topic covers.")


class LessonReadability(BaseModel):
    """Readability of one lesson before and after polish (higher: easier)."""

    place: Place
    draft: float | None
    polished: float | None


class ReadabilitySection(BaseModel):
    """Flesch Reading Ease (the language's own variant) of each lesson."""

    metric: str = Field(description="The score computed.")
    supported: bool = Field(description="Whether the course language has a variant.")
    languages: list[str] = Field(description="Languages scored.")
    lessons: list[LessonReadability]
    easier_share: float | None = Field(
        description="0–1: lessons that polish made easier to read (null: none scored)."
    )


class LessonFidelity(BaseModel):
    """What the polished text of a lesson left out of its draft."""

    place: Place
    dropped_terms: list[str]
    dropped_numbers: list[str]


class FidelitySection(BaseModel):
    """Key terms and numbers of the drafts that polishing dropped."""

    lessons_checked: int
    dropped_terms: int
    dropped_numbers: int
    lessons: list[LessonFidelity] = Field(description="Only lessons that dropped something.")


class QuestionPlace(BaseModel):
    """A self-check question and where it is."""

    place: Place
    question: str


class SelfCheckSection(BaseModel):
    """Self-check questions: how many, repeated ones, empty answers."""

    questions_per_topic: list[int] = Field(description="Per written lesson, in course order.")
    min: int | None
    max: int | None
    duplicates: list[QuestionPlace] = Field(description="Questions asked earlier in the course.")
    empty_answers: list[QuestionPlace] = Field(description="Questions whose answer says nothing.")


class LengthSection(BaseModel):
    """Words per lesson (polished text where there is one)."""

    lessons: int
    min: int | None
    median: float | None
    max: int | None


class Price(BaseModel):
    """US dollars per million tokens."""

    prompt: float
    completion: float


class UsageSection(BaseModel):
    """Tokens spent and what they cost."""

    model: str | None = Field(description="The model, as configured.")
    total: TokenUsage
    by_stage: dict[str, TokenUsage]
    price: Price | None = Field(description="Price used; null for a model not in the table.")
    cost_usd: float | None = Field(description="Estimated cost; null when the price is unknown.")


class GroundingSection(BaseModel):
    """How much of the course cites uploaded sources."""

    sources: int = Field(default=0, description="Sources the request named (0: not grounded).")
    lessons_with_citations: float | None = Field(description="0–1 share of written lessons.")
    citations: int = Field(description="Citations kept: their quotes occur in the cited passage.")
    citations_dropped: int = Field(
        default=0, description="Citations the model wrote that failed the check (not kept)."
    )


class QualityReport(BaseModel):
    """The measurements of one course; deterministic, no LLM call."""

    version: int = Field(default=1, description="Report layout version.")
    shape: ShapeSection
    language: LanguageSection
    overlap: OverlapSection
    coverage: CoverageSection
    readability: ReadabilitySection
    polish_fidelity: FidelitySection
    self_check: SelfCheckSection
    length: LengthSection
    usage: UsageSection
    grounding: GroundingSection
    summary: dict[str, str] = Field(
        default_factory=dict, description="One line of words and figures per section, for people."
    )
