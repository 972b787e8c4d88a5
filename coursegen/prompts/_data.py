"""Render user-supplied text as a delimited data block that the model must not obey."""

import json
from typing import Any

DATA_TAG = "course_data"


def data_block(payload: dict[str, Any]) -> str:
    """Wrap a payload as JSON inside <course_data> tags.

    JSON quoting keeps user text on its own lines, and escaping '<' and '>' means no user
    text can close the tag early and smuggle instructions out of the data block.
    """
    body = json.dumps(payload, ensure_ascii=False, indent=2)
    body = body.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<{DATA_TAG}>\n{body}\n</{DATA_TAG}>"
