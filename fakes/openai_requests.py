"""Read what coursegen's chains send an OpenAI-compatible server: the schema and the data.

The scripted test server (tests/support/scripted_llm.py) and the benchmark's simulated
model (bench/simulated_llm.py) both answer coursegen's requests; this is the one place
that knows how a request names its schema and carries its `<course_data>` block.
"""

import json
import re
from typing import Any

from coursegen.names import JSON_MODE_SCHEMA_MARKER

DATA_RE = re.compile(r"<course_data>\n(.*?)\n</course_data>", re.S)


def sent_schema(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a request sends (response_format, forced tool, or json_mode prompt)."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict(fmt["json_schema"]["schema"])
    tools = body.get("tools") or []
    if tools:
        return dict(tools[0]["function"]["parameters"])
    for message in reversed(body["messages"]):
        _, marker, schema = str(message.get("content") or "").rpartition(JSON_MODE_SCHEMA_MARKER)
        if marker:
            return dict(json.loads(schema))
    return {}


def course_data(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON inside the latest <course_data> block of a conversation."""
    for message in reversed(messages):  # a re-ask's last message is the repair note
        match = DATA_RE.search(str(message.get("content") or ""))
        if match:
            return dict(json.loads(match.group(1)))
    return {}


def schema_name(body: dict[str, Any]) -> str:
    """The JSON schema a request asks for (json_schema, tools or json_mode prompts)."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return str(fmt["json_schema"]["name"])
    tools = body.get("tools") or []
    if tools:
        return str(tools[0]["function"]["name"])
    # json_mode: the chain appends "JSON schema of the answer:\n{...}" to the last message.
    return str(sent_schema(body).get("title", "unknown"))
