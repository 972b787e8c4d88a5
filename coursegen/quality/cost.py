"""Estimate what a course's tokens cost, from a small table of known models' prices."""

from coursegen.domain import CourseUsage
from coursegen.quality.model import Price, UsageSection

# US dollars per million tokens (prompt, completion), OpenAI's list prices for standard
# (not batch, not cached) calls as published in 2025; `local`, the embedded model, costs
# nothing. Other models (on vLLM, Ollama, another provider) are not known: no estimate.
PRICES: dict[str, Price] = {
    "local": Price(prompt=0.0, completion=0.0),
    "gpt-4o-mini": Price(prompt=0.15, completion=0.60),
    "gpt-4o": Price(prompt=2.50, completion=10.00),
    "gpt-4.1": Price(prompt=2.00, completion=8.00),
    "gpt-4.1-mini": Price(prompt=0.40, completion=1.60),
    "gpt-4.1-nano": Price(prompt=0.10, completion=0.40),
    "o4-mini": Price(prompt=1.10, completion=4.40),
}


# Models that run on this machine: no provider bills them.
FREE_PROVIDERS = ("local", "llamacpp", "sandbox")


def price_of(model: str | None) -> Price | None:
    """The price of a model named `provider:name` (or a bare OpenAI name); None if unknown.

    Only OpenAI's own names are priced: the same name on another server costs what that
    server charges, which the table cannot know.
    """
    if not model:
        return None
    provider, _, name = model.partition(":") if ":" in model else ("openai", "", model)
    if provider in FREE_PROVIDERS:
        return PRICES["local"]
    return PRICES.get(name) if provider == "openai" else None


def usage_section(usage: CourseUsage, model: str | None) -> UsageSection:
    """Tokens in total and per stage, with a cost where the model's price is known."""
    price = price_of(model)
    cost = None
    if price is not None:
        total = usage.total
        cost = round(
            (total.prompt_tokens * price.prompt + total.completion_tokens * price.completion)
            / 1_000_000,
            6,
        )
    return UsageSection(
        model=model,
        total=usage.total,
        by_stage=dict(usage.by_stage),
        price=price,
        cost_usd=cost,
    )
