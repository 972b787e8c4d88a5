"""Create, list and revoke API keys in the configured database."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from coursegen.cli._app import app, console, fail
from coursegen.server.apikeys import LOCAL_OWNER, ApiKey, ApiKeyStore
from coursegen.server.webhooks.keys import KeyWebhook, KeyWebhooks
from coursegen.server.webhooks.targets import TargetRefused, resolve

T = TypeVar("T")
keys_app = typer.Typer(help="Manage API keys (stored hashed; a secret is shown only once).")
app.add_typer(keys_app, name="keys")


def with_keys(work: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    """Open the configured database (COURSEGEN_DATA_DIR or COURSEGEN_DATABASE_URL) for `work`."""
    from coursegen.server.wiring import job_store
    from coursegen.settings import get_settings

    async def run() -> T:
        store = job_store(get_settings())
        await store.setup()
        try:
            keys = ApiKeyStore(store)
            await keys.setup()
            return await work(keys)
        finally:
            await store.close()

    return asyncio.run(run())


async def create_key(
    keys: ApiKeyStore, owner: str, name: str, webhook_url: str | None
) -> tuple[ApiKey, str, KeyWebhook | None]:
    """A key, its secret, and its webhook settings when it has a default URL."""
    record, secret = await keys.create(owner, name)
    webhook = await KeyWebhooks(keys.db).create(record.id, webhook_url) if webhook_url else None
    return record, secret, webhook


def check_webhook_url(url: str) -> None:
    """Refuse a default webhook URL that deliveries would refuse (see docs/webhooks.md)."""
    from coursegen.settings import get_settings

    try:
        asyncio.run(resolve(url, get_settings().webhook_allow_private))
    except TargetRefused as exc:
        raise fail(str(exc)) from exc


@keys_app.command("create")
def create(
    owner: Annotated[str, typer.Argument(help="Who the key belongs to; their courses are theirs.")],
    name: Annotated[str, typer.Option(help="A label, e.g. the platform using it.")] = "",
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Default webhook URL of the key's courses; gives it a signing secret."),
    ] = None,
    adopt_existing: Annotated[
        bool, typer.Option(help="Give the courses made without a key to this owner.")
    ] = False,
) -> None:
    """Create a key. Once any key exists, every request must carry one, and courses made
    without a key belong to owner `local` (see --adopt-existing)."""
    if webhook_url is not None:
        check_webhook_url(webhook_url)

    async def work(keys: ApiKeyStore) -> tuple[ApiKey, str, KeyWebhook | None, int, int]:
        record, secret, webhook = await create_key(keys, owner, name, webhook_url)
        adopted = await keys.adopt_keyless(owner) if adopt_existing else 0
        return record, secret, webhook, adopted, await keys.keyless_jobs()

    try:
        record, secret, webhook, adopted, keyless = with_keys(work)
    except ValueError as exc:  # an owner name outside the safe alphabet
        raise fail(str(exc)) from exc
    console.print(f"Key [bold]{record.id}[/] for {escape(owner)}. Its secret (shown only now):")
    console.print(secret, soft_wrap=True, markup=False)
    if webhook is not None:
        console.print("Its webhook signing secret (shown only now):")
        console.print(webhook.secret, soft_wrap=True, markup=False)
    if adopted:
        console.print(f"{adopted} course(s) made without a key now belong to {escape(owner)}.")
    if keyless and owner != LOCAL_OWNER:
        console.print(keyless_note(keyless, owner), style="yellow", markup=False)


def keyless_note(count: int, owner: str) -> str:
    """Say where the courses made without a key went, and how to reach them."""
    return (
        f"{count} course(s) made without a key belong to owner '{LOCAL_OWNER}': every "
        f"request needs a key now, so only a key of owner '{LOCAL_OWNER}' reaches them "
        f"(coursegen keys create {LOCAL_OWNER}), or give them to {owner} with "
        f"`coursegen keys adopt {owner}`."
    )


@keys_app.command("adopt")
def adopt(
    owner: Annotated[str, typer.Argument(help="The owner who gets the courses.")],
) -> None:
    """Give the courses made without a key (owner `local`) to an owner."""
    moved = with_keys(lambda keys: keys.adopt_keyless(owner))
    console.print(f"{moved} course(s) made without a key now belong to {escape(owner)}.")


@keys_app.command("list")
def list_keys() -> None:
    """List keys (without their secrets)."""
    table = Table("id", "owner", "name", "starts with", "revoked")
    for key in with_keys(lambda keys: keys.all_keys()):
        table.add_row(
            key.id, escape(key.owner), escape(key.name), key.hint, "yes" if key.revoked_at else ""
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")]) -> None:
    """Revoke a key at once (the service checks keys on every request)."""
    if not with_keys(lambda keys: keys.revoke(key_id)):
        raise fail(f"no active key {key_id}")
    console.print(f"Revoked {key_id}.")
