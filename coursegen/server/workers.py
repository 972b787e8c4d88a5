"""Prepare the store once for `coursegen serve --workers N`, and pick N."""

import os

from coursegen.providers.loading import ModelOptions, load_chat_model, resolve_model_spec
from coursegen.server.apikeys import ApiKeyStore
from coursegen.server.core.checkpointer import open_checkpointer
from coursegen.server.sources.dialects import source_store
from coursegen.server.threads import ThreadRegistry
from coursegen.server.webhooks.deliveries import DeliveryStore
from coursegen.server.wiring import check_exposure, job_store
from coursegen.settings import Settings

LOCAL_PROVIDERS = ("local", "llamacpp")


def worker_count(settings: Settings) -> int:
    """The configured number of workers; by default one per core, but one for the local
    model (each worker process would load its own copy of the weights)."""
    if settings.workers is not None:
        return settings.workers
    if uses_local_model(settings):
        return 1
    return default_workers()


def default_workers() -> int:
    """Workers when none are configured and the model is remote: one per core."""
    return os.cpu_count() or 1


def uses_local_model(settings: Settings) -> bool:
    """Whether the model runs in-process (llama.cpp); ProviderConfigError if none is set."""
    spec = resolve_model_spec(settings.model, ModelOptions.from_settings(settings))
    return spec.partition(":")[0] in LOCAL_PROVIDERS


def check_model(settings: Settings) -> None:
    """Fail here, in the parent, on a model that is not configured: a worker failing on it
    would be started again and again. The local model is not loaded for the check."""
    if not uses_local_model(settings):
        load_chat_model(settings.model, ModelOptions.from_settings(settings))


async def prepare(settings: Settings) -> None:
    """Do, before the workers start, what they would otherwise all do at once.

    Tables and migrations (job store, sources, keys, threads, checkpoints) are made here, so
    N processes never race to create the same table (PostgreSQL answers such a race with a
    unique violation). On SQLite the leases and webhook claims left by a previous run are
    freed here, once: a worker starting next to running siblings must not free theirs.
    """
    store = job_store(settings)
    await store.setup()
    try:
        await source_store(store).setup()
        keys = ApiKeyStore(store)
        await keys.setup()
        await check_exposure(keys, settings.host)
        if not settings.uses_postgres:
            await store.release_all()
            await DeliveryStore(store).release_all()
        async with open_checkpointer(settings) as saver:
            await ThreadRegistry(store, saver, settings.thread_ttl_s).setup()
    finally:
        await store.close()
