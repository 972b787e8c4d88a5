"""Create API keys for tests without touching a running app's event loop."""

import asyncio

from coursegen.server.apikeys import ApiKeyStore
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.settings import Settings


def make_key(settings: Settings, owner: str) -> str:
    """Create an API key in the app's database before the app starts; return its secret.

    Call it from a thread without a running event loop (`await asyncio.to_thread(make_key,
    …)` in an async test): the app's store binds its lock to the loop it first runs on, so
    the key is made through a store of its own. For a running app use `LiveApp.call`.
    """

    async def create() -> str:
        store = SqliteJobStore(settings.sqlite_path)
        await store.setup()
        try:
            keys = ApiKeyStore(store)
            await keys.setup()
            _, secret = await keys.create(owner, "tests")
            return secret
        finally:
            await store.close()

    return asyncio.run(create())


def make_webhook_key(settings: Settings, owner: str, url: str | None) -> tuple[str, str]:
    """Like `make_key`, with a webhook signing secret (and a default URL, when given):
    return the key's secret and its signing secret."""
    from coursegen.server.webhooks.keys import KeyWebhooks

    async def create() -> tuple[str, str]:
        store = SqliteJobStore(settings.sqlite_path)
        await store.setup()
        try:
            keys = ApiKeyStore(store)
            await keys.setup()
            record, secret = await keys.create(owner, "tests")
            webhook = await KeyWebhooks(store).create(record.id, url)
            return secret, webhook.secret
        finally:
            await store.close()

    return asyncio.run(create())
