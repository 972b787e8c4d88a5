"""Open the jobs machinery for the configured mode: SQLite in-process, or PostgreSQL + Redis."""

import ipaddress
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from coursegen.graph.graph import make_regenerate_builder
from coursegen.providers.info import ModelInfo
from coursegen.server.apikeys import ApiKeyStore
from coursegen.server.core.limits import RateLimiter, RedisRateLimiter
from coursegen.server.jobs.broker import LocalBroker, RedisBroker
from coursegen.server.jobs.eventwriter import EventWriter
from coursegen.server.jobs.manager import JobManager
from coursegen.server.jobs.peer_broker import PeerBroker
from coursegen.server.jobs.runner import JobRunner
from coursegen.server.jobs.service import JobService
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.sources.dialects import source_store
from coursegen.server.sources.embedder import source_embedder
from coursegen.server.webhooks.deliveries import DeliveryStore
from coursegen.server.webhooks.sender import SenderConfig, WebhookSender
from coursegen.settings import Settings

log = logging.getLogger(__name__)
NO_KEYS_ON_NETWORK = (
    "refusing to serve on {host} without API keys: anyone who can reach it could spend your "
    "LLM budget. Create one with `coursegen keys create <owner>`, or bind to 127.0.0.1."
)


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def check_exposure(keys: ApiKeyStore, host: str) -> None:
    """Refuse a network-facing bind without keys; say so when running single-user."""
    if await keys.enabled():
        return
    if not is_loopback(host):
        raise RuntimeError(NO_KEYS_ON_NETWORK.format(host=host))
    log.warning("no API keys configured: single-user mode, serving on loopback (%s) only", host)


def job_store(settings: Settings) -> SqlJobStore:
    """The job store the settings name: PostgreSQL when configured, else the SQLite file."""
    if settings.uses_postgres:
        from coursegen.server.jobs.postgres_store import PostgresJobStore

        assert settings.database_url is not None
        return PostgresJobStore(settings.database_url)
    return SqliteJobStore(settings.sqlite_path, settings.sqlite_busy_timeout_s)


def new_worker_id() -> str:
    """A name for this process's worker, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def event_broker(settings: Settings, worker: str) -> LocalBroker:
    """Redis when configured; else the other workers of this `serve` (if any) over sockets."""
    if settings.redis_url:
        return RedisBroker(settings.redis_url, worker)
    if settings.peer_dir is not None:
        return PeerBroker(settings.peer_dir, worker.rpartition(":")[2])
    return LocalBroker()


async def webhook_sender(settings: Settings, store: SqlJobStore, worker: str) -> WebhookSender:
    """This replica's webhook loop, configured by the settings."""
    deliveries = DeliveryStore(store)
    if settings.owns_store:
        await deliveries.release_all()
    secret = settings.webhook_secret
    config = SenderConfig(
        secret=secret.get_secret_value() if secret else None,
        allow_private=settings.webhook_allow_private,
        timeout_s=settings.webhook_timeout_s,
        retry_base_s=settings.webhook_retry_base_s,
        window_s=settings.webhook_retry_window_s,
        public_url=settings.public_url,
    )
    return WebhookSender(deliveries, config, worker)


@dataclass(frozen=True)
class Backend:
    """What the routes are served from: the jobs service and, beside it, keys and the limiter."""

    jobs: JobService
    keys: ApiKeyStore
    limiter: RateLimiter


@asynccontextmanager
async def open_jobs(
    settings: Settings,
    graph: CompiledStateGraph,
    checkpointer: BaseCheckpointSaver,
    model: BaseChatModel,
    model_info: ModelInfo,
    worker: str | None = None,
) -> AsyncIterator[Backend]:
    """Start the store, broker and this replica's worker; drain and close them on exit.

    The broker starts once the worker exists: it hands the worker the control messages.
    """
    worker = worker or new_worker_id()
    store = job_store(settings)
    await store.setup()
    sources = source_store(store, source_embedder(settings))
    await sources.setup()
    broker = event_broker(settings, worker)
    if settings.owns_store:
        await store.release_all()  # one process owns the SQLite file: its old leases are void
    regenerate = make_regenerate_builder(model, settings.structured_output).compile(
        checkpointer=checkpointer
    )
    writer = EventWriter(store, broker, linger_s=settings.event_linger_ms / 1000)
    writer.start()
    runner = JobRunner(
        graph,
        regenerate,
        writer,
        worker,
        model_info,
        settings.job_token_budget,
        sources=sources,
        source_top_k=settings.source_top_k,
    )
    manager = JobManager(
        store,
        runner,
        worker=worker,
        max_running=settings.max_running_jobs,
        lease_s=settings.lease_s,
    )
    keys = ApiKeyStore(store)
    await keys.setup()
    await check_exposure(keys, settings.host)
    limiter = (
        RedisRateLimiter(settings.requests_per_minute, broker.redis)
        if isinstance(broker, RedisBroker)
        else RateLimiter(settings.requests_per_minute)
    )
    service = JobService(store, broker, checkpointer, settings.max_jobs_per_owner, sources=sources)
    await broker.start(manager.on_control)
    await manager.start()
    sender = await webhook_sender(settings, store, worker)
    sender.start()
    try:
        yield Backend(service, keys, limiter)
    finally:
        await sender.close()
        await manager.drain()
        await writer.close()
        await broker.close()
        await store.close()
