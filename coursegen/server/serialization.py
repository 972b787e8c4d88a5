"""Serialize LangServe stream payloads, including LangGraph objects it does not know."""

from typing import Any

import orjson
from langgraph.types import Command, Send
from langserve.serialization import WellKnownLCSerializer, default
from pydantic import BaseModel


def _fallback(obj: Any) -> Any:
    if isinstance(obj, Send):
        return {"type": "send", "node": obj.node, "arg": obj.arg}
    if isinstance(obj, Command):
        return {"type": "command", "goto": obj.goto, "resume": obj.resume, "update": obj.update}
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    try:
        return default(obj)
    except TypeError:
        return repr(obj)


class GraphAwareSerializer(WellKnownLCSerializer):
    """LangServe's serializer plus `Send`/`Command`, whose absence crashes `/stream_events`."""

    def dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_fallback)
