"""Keep an API key's default webhook URL and its own signing secret."""

import time
from dataclasses import dataclass

from coursegen.server.core.db import Database
from coursegen.server.webhooks.signing import new_secret


@dataclass(frozen=True, slots=True)
class KeyWebhook:
    """A key's webhook settings: its default URL (if any) and its signing secret."""

    key_id: str
    url: str | None
    secret: str


class KeyWebhooks:
    """Webhook settings of API keys, in the job store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, key_id: str, url: str | None) -> KeyWebhook:
        """Give a key a signing secret (returned: it is shown once) and a default URL."""
        webhook = KeyWebhook(key_id, url, new_secret())
        async with self.db.transaction() as tx:
            await tx.run(
                "INSERT INTO coursegen_webhook_keys (key_id, url, secret, created_at) "
                "VALUES (?, ?, ?, ?)",
                (key_id, url, webhook.secret, time.time()),
            )
        return webhook

    async def get(self, key_id: str) -> KeyWebhook | None:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT key_id, url, secret FROM coursegen_webhook_keys WHERE key_id = ?",
                (key_id,),
            )
        return KeyWebhook(**rows[0]) if rows else None

    async def secrets(self, key_ids: set[str]) -> dict[str, str]:
        """The signing secrets of these keys (those that have one)."""
        if not key_ids:
            return {}
        marks = ", ".join("?" for _ in key_ids)
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT key_id, secret FROM coursegen_webhook_keys WHERE key_id IN ({marks})",
                sorted(key_ids),
            )
        return {r["key_id"]: r["secret"] for r in rows}
