"""Predict the calls and tokens of a course before running it."""

from pydantic import BaseModel, Field

from coursegen.chains.schemas import (
    CourseRequest,
    Outline,
    ThemeOutline,
    ThemeTopics,
    TopicContent,
    TopicOutline,
)
from coursegen.chains.stages import (
    ContentInput,
    PolishInput,
    TopicsInput,
    content_prompt,
    outline_prompt,
    polish_prompt,
    topics_prompt,
)

DEFAULT_THEMES = 6  # middle of the 4–8 the outline prompt asks for
DEFAULT_TOPICS = 4  # middle of the 3–6 the topics prompt asks for
# Typical answer sizes seen from instruction-tuned models, in tokens.
COMPLETION_TOKENS = {
    "outline_per_theme": 45,
    "topics_per_topic": 45,
    "content": 1100,
    "polish": 900,
}
BYTES_PER_TOKEN = 4  # a rough rule for BPE tokenisers; Cyrillic and CJK cost more bytes per token


class Estimate(BaseModel):
    """What a course is expected to cost."""

    themes: int = Field(description="Themes assumed (requested, or the default middle).")
    topics: int = Field(description="Topics assumed in all.")
    calls: int = Field(description="LLM calls: 1 + themes + 2 × topics.")
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
    topic = TopicOutline(title="t" * 40, description="d" * 120)
    topics = ThemeTopics(topics=[topic] * per_theme)
    content = _placeholder_content(COMPLETION_TOKENS["content"] * 3 // 4)
    prompt = (
        _prompt_tokens(outline_prompt(request))
        + themes
        * _prompt_tokens(
            topics_prompt(TopicsInput(request=request, outline=outline, theme_index=0))
        )
        + themes
        * per_theme
        * _prompt_tokens(
            content_prompt(ContentInput(request=request, theme=theme, topics=topics, topic_index=0))
        )
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
    )
    return Estimate(
        themes=themes,
        topics=themes * per_theme,
        calls=1 + themes + 2 * themes * per_theme,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
    )
