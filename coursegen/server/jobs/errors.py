"""Describe what goes wrong in a job as its `error` and `warning` events."""

from typing import Any

import openai

from coursegen.chains.language import course_language
from coursegen.chains.shape import ShortAnswerError
from coursegen.chains.structured import StructuredOutputError, TruncatedAnswer
from coursegen.graph.budget import BudgetExceeded
from coursegen.providers.info import ModelInfo, public_url
from coursegen.providers.loading import ProviderConfigError
from coursegen.server.jobs.models import Job


def _provider_url(exc: BaseException) -> str | None:
    """The base URL of the provider call that failed (no credentials, no query)."""
    request = getattr(exc, "request", None)
    url = public_url(str(request.url)) if request is not None else None
    return url.removesuffix("/chat/completions") if url else None


def error_of(exc: BaseException) -> dict[str, Any]:
    """Describe a job failure as an `error` event: code, message, retryable.

    A provider error names the server it came from ("Connection error." alone does not
    say which of several configured URLs is wrong).
    """
    if isinstance(exc, BudgetExceeded):
        code, retryable = "budget_exceeded", False
    elif isinstance(exc, ProviderConfigError):
        code, retryable = "provider_config", False
    elif isinstance(exc, StructuredOutputError):
        code, retryable = "invalid_output", True
    elif isinstance(exc, ShortAnswerError):
        code, retryable = "short_output", True
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        code, retryable = "provider_auth", False
    elif isinstance(exc, openai.APIError | TruncatedAnswer):
        code, retryable = "provider_error", True
    else:
        code, retryable = "internal", True
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, openai.APIError) and (url := _provider_url(exc)):
        message += f" (provider at {url})"
    return {"code": code, "message": message, "retryable": retryable}


def language_warning(model: ModelInfo, job: Job) -> dict[str, Any] | None:
    """The `warning` a job gets when the model does not write its language well."""
    language = course_language(job.request)
    if model.languages is None or language in model.languages:
        return None
    return {
        "code": "model_language",
        "message": f"the {model.kind} model {model.name} writes {', '.join(model.languages)} "
        f"only (demo quality): this {language} course will read badly. Use a real model: "
        "set OPENAI_API_KEY, or COURSEGEN_BASE_URL and COURSEGEN_MODEL for an "
        "OpenAI-compatible server (see README.md).",
    }
