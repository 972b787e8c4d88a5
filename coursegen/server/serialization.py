"""Serialize LangServe stream payloads, including LangGraph objects it does not know."""

from typing import Any

import orjson
from langchain_core.runnables import Runnable
from langgraph.types import Command, Send
from langserve.serialization import WellKnownLCSerializer, default
from pydantic import BaseModel


def _fallback(obj: Any) -> Any:
    if isinstance(obj, Send):
        return {"type": "send", "node": obj.node, "arg": obj.arg}
    if isinstance(obj, Command):
        return {"type": "command", "goto": obj.goto, "resume": obj.resume, "update": obj.update}
    if isinstance(obj, Runnable):  # a task's chain argument shows up in event inputs
        return {"runnable": obj.get_name()}
    try:
        return obj.model_dump(mode="json") if isinstance(obj, BaseModel) else default(obj)
    except Exception:  # debugging detail of an event; never worth failing the stream
        return repr(obj)


class GraphAwareSerializer(WellKnownLCSerializer):
    """LangServe's serializer plus `Send`/`Command`, whose absence crashes `/stream_events`."""

    def dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
