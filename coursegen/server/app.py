"""Create the FastAPI app: LangServe routes, the jobs API and a lifespan-managed checkpointer."""

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi_offline import FastAPIOffline
from langchain_core.language_models import BaseChatModel
from langgraph.graph.state import CompiledStateGraph

from coursegen.chains.stages import build_course_chains
from coursegen.graph.graph import build_graph
from coursegen.graph.runnable import CourseRunnable
from coursegen.providers.info import describe_model
from coursegen.providers.loading import ModelOptions, load_chat_model
from coursegen.server.core.checkpointer import open_checkpointer
from coursegen.server.core.heap import frozen_heap
from coursegen.server.core.metrics import metrics_app, metrics_text, observe_call
from coursegen.server.core.orphan import stopping_when_orphaned
from coursegen.server.middleware import GuardMiddleware
from coursegen.server.probe import announce_model, probe_provider
from coursegen.server.request_guard import RequestGuardMiddleware
from coursegen.server.routes import courses, health, sources, web, webhooks
from coursegen.server.routes.langserve import mount_langserve
from coursegen.server.threads import ThreadRegistry
from coursegen.server.wiring import new_worker_id, open_jobs
from coursegen.settings import Settings, get_settings

log = logging.getLogger(__name__)
# Room for the multipart framing around an upload of the largest allowed file.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class GraphHolder:
    """Hand out the graph compiled in the lifespan (routes are added before it exists)."""

    graph: CompiledStateGraph | None = None

    def __call__(self) -> CompiledStateGraph:
        if self.graph is None:
            raise RuntimeError("the course graph is not ready: the app's lifespan has not started")
        return self.graph


def cancellable(model: BaseChatModel) -> BaseChatModel:
    """Make sure cancelling a job stops its streaming calls (on Python < 3.12).

    langchain-openai waits for each streamed chunk with `asyncio.wait_for`, which before
    Python 3.12 swallows a cancellation that lands while a chunk is arriving: the call
    streams on, and a cancelled or drained job waits for it (forever, on a stalled stream).
    Its `stream_chunk_timeout` guard is what uses `wait_for`; the call keeps its timeout.
    """
    if sys.version_info < (3, 12) and getattr(model, "stream_chunk_timeout", None):
        model.stream_chunk_timeout = None  # type: ignore[attr-defined]
    return model


def create_app(settings: Settings | None = None, model: BaseChatModel | None = None) -> FastAPI:
    """Build the app; fails at once with a clear message when no LLM provider is configured."""
    settings = settings or get_settings()
    model = cancellable(
        model or load_chat_model(settings.model, ModelOptions.from_settings(settings))
    )
    mode = settings.structured_output
    info = describe_model(model, mode)
    holder = GraphHolder()
    worker = new_worker_id()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        announce_model(info)
        # In the background: a provider that is slow to answer must not delay start-up.
        probe = asyncio.create_task(probe_provider(info))
        try:
            async with open_checkpointer(settings) as saver:
                holder.graph = build_graph(checkpointer=saver, model=model, mode=mode)
                app.state.graph = holder.graph
                async with open_jobs(settings, holder.graph, saver, model, info, worker) as backend:
                    app.state.jobs = backend.jobs
                    app.state.keys, app.state.limiter = backend.keys, backend.limiter
                    threads = ThreadRegistry(backend.jobs.store, saver, settings.thread_ttl_s)
                    await threads.setup()
                    app.state.threads = threads
                    orphaned = stopping_when_orphaned(settings.peer_dir is not None)
                    async with threads.sweeping(), orphaned:
                        with frozen_heap():
                            yield
        finally:
            probe.cancel()
            holder.graph = None

    # FastAPIOffline: /docs and /redoc with Swagger UI and ReDoc served from the package,
    # not a CDN (blank pages offline or behind a strict proxy otherwise).
    app = FastAPIOffline(
        title="coursegen",
        version="0.1.0",
        lifespan=lifespan,
        description="Generate whole educational courses with an LLM and stream them.",
    )
    app.state.settings = settings
    app.state.model_info = info
    # Added innermost first: the body limit and security headers wrap everything else.
    app.add_middleware(
        RequestGuardMiddleware, cors_origins=settings.cors_origins, upload_paths=("/sources",)
    )
    if settings.cors_origins:  # closed by default: a browser on another origin gets nothing
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Last-Event-ID",
                "X-Thread-Id",
            ],
        )
    # A DNS-rebinding page reaches a loopback server under its own name: answer known names only.
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False
    )
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        path_limits={"/sources": settings.max_source_bytes + UPLOAD_OVERHEAD_BYTES},
        worker=worker.rpartition(":")[2],  # not the host name: clients need not know it
    )
    app.include_router(health.router)
    app.include_router(courses.router)
    app.include_router(sources.router)
    app.include_router(webhooks.router)
    app.include_router(web.router)
    # `/metrics` itself answers (a mount alone redirects it to `/metrics/` with a 307).
    app.add_route("/metrics", metrics_text, include_in_schema=False)
    app.mount("/metrics", metrics_app)
    # A LangServe course run gets a job's token budget (and takes a job slot: see langserve.py).
    course = CourseRunnable(holder, token_budget=settings.job_token_budget, on_usage=observe_call)
    mount_langserve(app, course, build_course_chains(model, mode))
    return app
