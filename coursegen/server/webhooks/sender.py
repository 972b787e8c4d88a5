"""Send due webhook deliveries from any replica, and schedule the retries of failed ones."""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from coursegen.server.core import metrics
from coursegen.server.core.tasks import stop_task
from coursegen.server.webhooks import schedule
from coursegen.server.webhooks.deliveries import Attempt, DeliveryStore
from coursegen.server.webhooks.keys import KeyWebhooks
from coursegen.server.webhooks.payload import body_of
from coursegen.server.webhooks.signing import signed_headers
from coursegen.server.webhooks.targets import TargetRefused, resolve

log = logging.getLogger(__name__)
BATCH = 20  # deliveries one replica attempts at once


@dataclass(frozen=True, kw_only=True)
class SenderConfig:
    """How deliveries are sent: the settings' webhook knobs."""

    secret: str | None
    allow_private: bool
    timeout_s: float
    retry_base_s: float
    window_s: float
    public_url: str | None
    poll_s: float = 1.0


class WebhookSender:
    """This replica's webhook loop: claim what is due, attempt it, record what happened."""

    def __init__(self, deliveries: DeliveryStore, config: SenderConfig, worker: str) -> None:
        self.deliveries, self.config, self.worker = deliveries, config, worker
        self.keys = KeyWebhooks(deliveries.db)
        # Redirects are not followed: a 3xx is an answer, and would lead past the target check.
        self.http = httpx.AsyncClient(timeout=config.timeout_s, follow_redirects=False)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="coursegen-webhooks")

    async def close(self) -> None:
        """Stop; an attempt in flight is cut and, its claim lapsing, made again later."""
        await stop_task(self._task)
        await self.http.aclose()

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.round()
                metrics.WEBHOOKS_PENDING.set(await self.deliveries.pending())
            except Exception:  # database unavailable: keep the loop alive and retry
                log.exception("sending webhooks failed")
                sent = 0
            if sent < BATCH:  # a full batch: more may be due at once
                await asyncio.sleep(self.config.poll_s)

    async def round(self) -> int:
        """Attempt every delivery due now (up to a batch); return how many."""
        lease_s = self.config.timeout_s * 3 + 5
        rows = await self.deliveries.claim(self.worker, lease_s, BATCH)
        if rows:
            secrets = await self.keys.secrets({r["key_id"] for r in rows if r["key_id"]})
            await asyncio.gather(*(self._deliver(row, secrets) for row in rows))
        return len(rows)

    async def _deliver(self, row: dict[str, Any], secrets: dict[str, str]) -> None:
        started = time.monotonic()
        code, error = await self._attempt(row, secrets.get(row["key_id"]) or self.config.secret)
        attempt = Attempt(code, error, time.monotonic() - started)
        metrics.WEBHOOK_SECONDS.observe(attempt.seconds)
        retry_at = None
        if attempt.ok:
            metrics.WEBHOOKS_SENT.labels(row["type"]).inc()
        else:
            metrics.WEBHOOK_ATTEMPTS_FAILED.inc()
            retry_at = schedule.next_attempt(
                row["attempts"],
                time.time(),
                row["retry_from"],
                self.config.retry_base_s,
                self.config.window_s,
            )
            if retry_at is None:
                metrics.WEBHOOKS_FAILED.labels(row["type"]).inc()
                log.warning(
                    "webhook %s of job %s given up: %s", row["id"], row["job_id"], attempt.error
                )
        await self.deliveries.record(row, self.worker, attempt, retry_at)

    async def _attempt(
        self, row: dict[str, Any], secret: str | None
    ) -> tuple[int | None, str | None]:
        """Send one attempt: the answer's status code, and what went wrong (None if a 2xx)."""
        if secret is None:
            return None, "no signing secret: set COURSEGEN_WEBHOOK_SECRET"
        body = body_of(row, self.config.public_url)
        try:
            # One deadline for the whole attempt: name resolution, connection, status line.
            async with asyncio.timeout(self.config.timeout_s):
                target = await resolve(row["url"], self.config.allow_private)
                headers = signed_headers(secret, row["id"], body, datetime.now(UTC))
                # The body is not read: the status code is the answer.
                response = await self.http.send(target.request(body, headers), stream=True)
                await response.aclose()
        except TargetRefused as exc:
            return None, str(exc)
        except (TimeoutError, httpx.TimeoutException):
            return None, f"no answer within {self.config.timeout_s:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a bug: record it as a failed attempt, not a stuck claim
            log.exception("webhook %s: attempt crashed", row["id"])
            return None, f"{type(exc).__name__}: {exc}"
        code = response.status_code
        return code, None if 200 <= code < 300 else f"HTTP {code}"
