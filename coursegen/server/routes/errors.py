"""Declare the error answers of the API's routes: one body shape, one description per status."""

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The body of an error answer (other than 422)."""

    detail: str


ERRORS: dict[int, str] = {
    400: "The body cannot be parsed (it is not UTF-8 text, for instance).",
    401: "No valid API key (`Authorization: Bearer <key>`) while keys are in use.",
    402: "A LangServe course run spent more tokens than its budget (`budget_exceeded`).",
    403: "A state-changing request from a foreign `Origin` (a page on another site).",
    404: "No such job among the caller's.",
    409: "The job's state does not allow this.",
    413: "The body is over the server's limit.",
    415: "A body that is not `Content-Type: application/json`.",
    429: "Over the write rate or the jobs-at-once limit of the key (jobs and LangServe runs "
    "count alike); see Retry-After.",
    503: "The write rate cannot be counted (Redis is unreachable); see Retry-After.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route may answer."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}
