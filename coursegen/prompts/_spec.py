"""Describe one stage prompt: its texts per language and its catalogue metadata."""

from dataclasses import dataclass, field

from langchain_core.prompts import ChatPromptTemplate


@dataclass(frozen=True, kw_only=True)
class PromptSpec:
    """A stage prompt with the metadata the catalogue (docs/prompts.md) is built from."""

    stage: str
    """Pipeline stage: outline, topics, content or polish."""
    title: str
    """Heading in the catalogue."""
    description: str
    """What the prompt does, for the catalogue."""
    parameters: tuple[str, ...]
    """Inputs the prompt receives, in words."""
    usage: str
    """Where the pipeline uses the prompt."""
    system: dict[str, str]
    """System message template per template language (ru, en)."""
    human: dict[str, str]
    """Human message template per template language (ru, en)."""
    count_hint: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Per template language: the hint for an exact count ({n}) and the default range."""
    example_request: dict[str, str] = field(default_factory=dict)
    """Example values of the template variables, for the catalogue."""
    example_response: str = ""
    """An example JSON answer, for the catalogue."""
    _templates: dict[str, ChatPromptTemplate] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def count_instruction(self, lang: str, count: int | None) -> str:
        """Return the sentence that tells the model how many items to propose."""
        exact, default = self.count_hint[lang]
        return exact.format(n=count) if count else default

    def template(self, lang: str) -> ChatPromptTemplate:
        """Return the chat template for a template language (ru or en), built once."""
        # Built per call, a template cost a third of a millisecond and LangChain serialised
        # it again for every run; templates are immutable, so one per language serves all.
        if (template := self._templates.get(lang)) is None:
            template = ChatPromptTemplate.from_messages(
                [("system", self.system[lang]), ("human", self.human[lang])]
            )
            self._templates[lang] = template
        return template
