"""Serve the stock pipeline with LangServe (`astream_events` at /course/stream_events)."""

from typing import Any

import orjson
from fastapi import FastAPI
from langgraph.types import Send
from langserve import add_routes
from langserve.serialization import WellKnownLCSerializer, default

from bench.stock.graph import graph


def _fallback(obj: Any) -> Any:
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": obj.arg}
    return default(obj)


class SendSerializer(WellKnownLCSerializer):
    """LangServe's serializer plus `Send`: without it `/stream_events` fails on a fan-out."""

    def dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_fallback)


app = FastAPI(title="stock course pipeline")
add_routes(app, graph, path="/course", serializer=SendSerializer())


@app.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}
