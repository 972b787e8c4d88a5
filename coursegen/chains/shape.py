"""Hold a stage's list to the number of items asked for: bounds sent, extras cut, one follow-up."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.prompt_values import ChatPromptValue, PromptValue
from langchain_core.runnables import Runnable, RunnableConfig

from coursegen.chains.structured import OutputT, StageResult, structured_output
from coursegen.domain import TokenUsage
from coursegen.names import StructuredMode


@dataclass(frozen=True)
class ListShape:
    """How many items the list `field` of an answer must hold."""

    field: str
    fewest: int
    most: int

    @classmethod
    def of(cls, field: str, count: int | None, default: tuple[int, int]) -> "ListShape":
        """Exactly `count` when the request fixed it, else the stage's documented range."""
        fewest, most = (count, count) if count else default
        return cls(field, fewest, most)


class ShortAnswerError(RuntimeError):
    """The model's list stayed short of what was asked for after one follow-up call."""

    def __init__(self, shape: ListShape, given: int, usage: TokenUsage, repeated: int = 0) -> None:
        wanted = f"exactly {shape.most}" if shape.fewest == shape.most else f"{shape.fewest}+"
        again = (
            f" (the follow-up repeated {repeated} {shape.field} given before)" if repeated else ""
        )
        super().__init__(
            f"the model gave {given} {shape.field} where {wanted} were asked for, "
            f"even after a follow-up call for the missing ones{again}"
        )
        self.usage = usage
        """Tokens the calls cost: they are paid for all the same."""


def _title(item: Any) -> str:
    """An item's title as a repeat would have it: case and spacing do not matter."""
    return " ".join(str(getattr(item, "title", item)).casefold().split())


def _unseen(items: list[Any], seen: set[str]) -> list[Any]:
    """The items whose title is neither in `seen` nor an earlier item's (adds them to `seen`)."""
    kept = []
    for item in items:
        if (title := _title(item)) not in seen:
            seen.add(title)
            kept.append(item)
    return kept


FollowUpNote = Callable[[int, int, int], str]
"""(given, wanted, missing) -> the text that asks for the missing items."""


@dataclass(frozen=True)
class _Step:
    runner: Runnable[PromptValue, StageResult[Any]]
    prompt: PromptValue


class ShapedOutput(Generic[OutputT]):
    """Structured output whose list has the asked-for length whatever the model writes.

    The bounds travel in the schema (`minItems`/`maxItems`) for providers that enforce them;
    items repeating an earlier title are dropped; a longer list is cut; a shorter one gets ONE
    follow-up call that shows the items so far and asks for just the missing ones. The runner
    of each shape is built once and reused.
    """

    def __init__(self, model: BaseChatModel, schema: type[OutputT], mode: StructuredMode) -> None:
        self.model, self.schema, self.mode = model, schema, mode
        self._runners: dict[tuple[str, int, int], Runnable[PromptValue, StageResult[OutputT]]] = {}

    def runner(self, field: str, fewest: int, most: int) -> Runnable[PromptValue, Any]:
        """The structured-output runnable whose schema asks for fewest..most items."""
        key = (field, fewest, most)
        if key not in self._runners:
            bounds = {field: (fewest, most)}
            self._runners[key] = structured_output(self.model, self.schema, self.mode, bounds)
        return self._runners[key]

    @staticmethod
    def _distinct(shape: ListShape, first: StageResult[OutputT]) -> StageResult[OutputT]:
        """The answer without the items that repeat an earlier one's title (a model that
        repeats itself within one list): the follow-up then asks for the missing ones."""
        items = _unseen(getattr(first.output, shape.field), set())
        if len(items) == len(getattr(first.output, shape.field)):
            return first
        output = first.output.model_copy(update={shape.field: items})
        return type(first)(output=output, usage=first.usage)

    def _follow_up(
        self, shape: ListShape, prompt: PromptValue, first: StageResult[OutputT], note: FollowUpNote
    ) -> _Step | None:
        given = len(getattr(first.output, shape.field))
        if given >= shape.fewest:
            return None
        missing = shape.fewest - given
        messages = [
            *prompt.to_messages(),
            AIMessage(content=first.output.model_dump_json()),
            HumanMessage(content=note(given, shape.fewest, missing)),
        ]
        return _Step(self.runner(shape.field, missing, missing), ChatPromptValue(messages=messages))

    def _merge(
        self, shape: ListShape, first: StageResult[OutputT], extra: StageResult[OutputT] | None
    ) -> StageResult[OutputT]:
        items = list(getattr(first.output, shape.field))
        usage, repeated = first.usage, 0
        if extra is not None:
            # A model that repeats itself answers with items it gave already: not the missing ones.
            new = _unseen(getattr(extra.output, shape.field), {_title(item) for item in items})
            repeated = len(getattr(extra.output, shape.field)) - len(new)
            items += new[: shape.fewest - len(items)]
            usage = usage + extra.usage
        if len(items) < shape.fewest:
            raise ShortAnswerError(shape, len(items), usage, repeated)
        output = first.output.model_copy(update={shape.field: items[: shape.most]})
        return type(first)(output=output, usage=usage)

    async def ainvoke(
        self,
        prompt: PromptValue,
        shape: ListShape,
        note: FollowUpNote,
        config: RunnableConfig | None = None,
    ) -> StageResult[OutputT]:
        """Ask, cut or follow up once, and return the answer with exactly the shape's length."""
        first = await self.runner(shape.field, shape.fewest, shape.most).ainvoke(prompt, config)
        first = self._distinct(shape, first)
        step = self._follow_up(shape, prompt, first, note)
        extra = await step.runner.ainvoke(step.prompt, config) if step else None
        return self._merge(shape, first, extra)

    def invoke(
        self,
        prompt: PromptValue,
        shape: ListShape,
        note: FollowUpNote,
        config: RunnableConfig | None = None,
    ) -> StageResult[OutputT]:
        """The synchronous `ainvoke`."""
        first = self.runner(shape.field, shape.fewest, shape.most).invoke(prompt, config)
        first = self._distinct(shape, first)
        step = self._follow_up(shape, prompt, first, note)
        extra = step.runner.invoke(step.prompt, config) if step else None
        return self._merge(shape, first, extra)
