"""Build a webhook's body from its outbox row: the job's state, no course text."""

from datetime import UTC, datetime
from typing import Any

import orjson


def links(job_id: str, public_url: str | None) -> dict[str, str]:
    """Where the receiver fetches the job (absolute with COURSEGEN_PUBLIC_URL, else paths)."""
    base = f"{(public_url or '').rstrip('/')}/courses/{job_id}"
    return {
        "self": base,
        "events": f"{base}/events",
        "export": f"{base}/export?format=md",
        "webhooks": f"{base}/webhooks",
    }


def body_of(row: dict[str, Any], public_url: str | None) -> str:
    """The JSON body of a delivery; the same text on every attempt (the row does not change)."""
    progress = orjson.loads(row["progress"])
    stamp = datetime.fromtimestamp(row["created_at"], UTC).isoformat(timespec="milliseconds")
    data = {
        "id": row["job_id"],
        "status": row["status"],
        "stage": row["stage"],
        "progress": {"done": progress.get("done", 0), "total": progress.get("total", 0)},
        "usage": orjson.loads(row["usage"]),
        "error": orjson.loads(row["error"]) if row["error"] else None,
        "links": links(row["job_id"], public_url),
    }
    body = {"type": row["type"], "timestamp": stamp.replace("+00:00", "Z"), "data": data}
    return orjson.dumps(body).decode()
