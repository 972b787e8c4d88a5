"""Say at start-up which model is in use, and check in the background that it can be reached."""

import asyncio
import logging

import httpx

from coursegen.providers.info import ModelInfo

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 2.0
EMBEDDED_NOTE = (
    "the embedded model is a small demo model: English only, slow, shallow content. For real "
    "courses set OPENAI_API_KEY, or COURSEGEN_BASE_URL and COURSEGEN_MODEL (an "
    "OpenAI-compatible server); to test an integration, COURSEGEN_MODEL=sandbox"
)


def announce_model(model: ModelInfo) -> None:
    """Log the model line (no secrets: the URL is already stripped), and the demo model's limits."""
    log.info("model: %s", model.line(), extra={"cg_model": model.model_dump()})
    if model.kind == "embedded" and model.languages:
        log.warning(EMBEDDED_NOTE)


async def probe_provider(model: ModelInfo, timeout_s: float = PROBE_TIMEOUT_S) -> bool | None:
    """Ask the model's server for `/models`; warn (never fail) when nothing answers.

    Any HTTP answer, an error status included, means the server is there: only a
    connection that cannot be made or stays silent is reported. Returns None when there is
    nothing to probe (built-in models, a provider without a base URL).
    """
    if model.kind != "provider" or not model.base_url:
        return None
    url = f"{model.base_url.rstrip('/')}/models"
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            await client.get(url)
    except (httpx.TransportError, OSError) as exc:
        log.warning(
            "provider unreachable at start-up: %s (%s); jobs will fail until it answers",
            model.base_url,
            type(exc).__name__,
            extra={"cg_base_url": model.base_url},
        )
        return False
    except asyncio.CancelledError:
        raise
    log.info("provider reachable", extra={"cg_base_url": model.base_url})
    return True
