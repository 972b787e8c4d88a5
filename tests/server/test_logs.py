"""Test the JSON log format."""

import json
import logging

from coursegen.server.logs import JsonFormatter, current_job


def test_log_lines_are_json_with_the_job_id() -> None:
    record = logging.LogRecord(
        "coursegen.x", logging.WARNING, __file__, 1, "stage %s done", ("outline",), None
    )
    token = current_job.set("job-7")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_job.reset(token)
    assert line["message"] == "stage outline done" and line["job_id"] == "job-7"
    assert line["level"] == "warning" and line["logger"] == "coursegen.x"
    assert "job_id" not in json.loads(JsonFormatter().format(record))
