"""Log as one JSON object per line, with the id of the job being worked on."""

import contextvars
import json
import logging
import time
from typing import Any

current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_job", default=None
)
_SECRET_KEYS = ("api_key", "authorization", "password", "secret", "token")


class JsonFormatter(logging.Formatter):
    """Format a record as JSON: time, level, logger, message, job id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (job := current_job.get()) is not None:
            entry["job_id"] = job
        for key, value in record.__dict__.items():
            if key.startswith("cg_") and not any(s in key for s in _SECRET_KEYS):
                entry[key.removeprefix("cg_")] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> dict[str, Any]:
    """Send coursegen's and uvicorn's logs to stderr as JSON; return uvicorn's log config."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.access": {"level": "WARNING"},  # request lines (URLs) are not logged
            "httpx": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},  # the openai client's HTTP library
        },
    }
