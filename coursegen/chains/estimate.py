"""Predict the calls and tokens of a course before running it."""

from pydantic import BaseModel, Field

from coursegen.chains.plan import course_map, requirement_items
from coursegen.chains.stages import (
    ContentInput,
    CoverageInput,
    PolishInput,
    TopicsInput,
    content_prompt,
    coverage_prompt,
    outline_prompt,
    polish_prompt,
    topics_prompt,
)
from coursegen.domain import (
    CourseRequest,
    Outline,
    ThemeOutline,
    ThemeTopics,
    TopicContent,
    TopicOutline,
)

DEFAULT_THEMES = 6  # middle of the 4–8 the outline prompt asks for
DEFAULT_TOPICS = 4  # middle of the 3–6 the topics prompt asks for
# Typical answer sizes seen from instruction-tuned models, in tokens.
COMPLETION_TOKENS = {
    "outline_per_theme": 45,
    "topics_per_topic": 60,
    "coverage_per_item": 20,
    "content": 1100,
    "polish": 900,
}
BYTES_PER_TOKEN = 4  # a rough rule for BPE tokenisers; Cyrillic and CJK cost more bytes per token


class Estimate(BaseModel):
    """What a course is expected to cost."""

    themes: int = Field(description="Themes assumed (requested, or the default middle).")
    topics: int = Field(description="Topics assumed in all.")
    calls: int = Field(
        description="LLM calls: 1 + themes + 2 × topics, + 1 coverage check when the "
        "requirements hold items (exact when the model gives the asked-for counts and the "
        "plan covers every item; a follow-up or a coverage revision adds calls)."
    )
    prompt_tokens: int = Field(description="Estimated tokens sent.")
    completion_tokens: int = Field(description="Estimated tokens written.")
    total_tokens: int = Field(description="prompt_tokens + completion_tokens.")


def _tokens(text: str) -> int:
    return max(1, len(text.encode()) // BYTES_PER_TOKEN)


def _prompt_tokens(prompt: object) -> int:
    messages = prompt.to_messages()  # type: ignore[attr-defined]
    return sum(_tokens(str(m.content)) for m in messages)


def _placeholder_content(words: int) -> TopicContent:
    body = "lorem " * words
    qa = [{"question": "q" * 60, "answer": "a" * 120}] * 3
    return TopicContent.model_validate(
        {"body_markdown": body, "key_points": ["k" * 60] * 5, "examples": [], "self_check": qa}
    )


def estimate_course(request: CourseRequest) -> Estimate:
    """Estimate calls exactly (for the given counts) and tokens roughly, from the real prompts."""
    themes = request.options.themes or DEFAULT_THEMES
    per_theme = request.options.topics_per_theme or DEFAULT_TOPICS
    theme = ThemeOutline(title="t" * 40, description="d" * 120)
    outline = Outline(themes=[theme] * themes)
    topic = TopicOutline(title="t" * 40, description="d" * 120, key_terms=["k" * 12] * 2)
    topics = ThemeTopics(topics=[topic] * per_theme)
    cmap = course_map(outline, [topics] * themes)
    items = requirement_items(request.requirements)
    content = _placeholder_content(COMPLETION_TOKENS["content"] * 3 // 4)
    coverage_calls = 1 if items else 0
    coverage_prompt_tokens = (
        _prompt_tokens(
            coverage_prompt(CoverageInput(request=request, items=items, course_map=cmap))
        )
        if items
        else 0
    )
    content_in = ContentInput(
        request=request, theme=theme, topics=topics, topic_index=0, course_map=cmap
    )
    prompt = (
        coverage_prompt_tokens
        + _prompt_tokens(outline_prompt(request))
        + themes
        * _prompt_tokens(
            topics_prompt(TopicsInput(request=request, outline=outline, theme_index=0))
        )
        + themes * per_theme * _prompt_tokens(content_prompt(content_in))
        + themes
        * per_theme
        * _prompt_tokens(
            polish_prompt(PolishInput(request=request, theme=theme, topic=topic, content=content))
        )
    )
    completion = (
        themes * COMPLETION_TOKENS["outline_per_theme"]
        + themes * per_theme * COMPLETION_TOKENS["topics_per_topic"]
        + themes * per_theme * (COMPLETION_TOKENS["content"] + COMPLETION_TOKENS["polish"])
        + len(items) * COMPLETION_TOKENS["coverage_per_item"]
    )
    return Estimate(
        themes=themes,
        topics=themes * per_theme,
        calls=1 + themes + coverage_calls + 2 * themes * per_theme,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
    )
