"""Refuse course requests that name sources the caller does not have (422, one error each)."""

from typing import Any

from fastapi.exceptions import RequestValidationError

from coursegen.server.sources.store import SourceStore


async def check_sources(
    store: SourceStore | None, owner: str, ids: list[str], loc: tuple[str | int, ...]
) -> None:
    """Raise a 422 with an error at `(*loc, i)` for each id that is not one of the owner's
    sources (unknown, deleted or another owner's: the same answer, so ids leak nothing)."""
    if not ids or store is None:
        return
    missing = await store.missing(owner, ids)
    if missing:
        raise RequestValidationError([_error(loc, ids, i) for i in missing])


def _error(loc: tuple[str | int, ...], ids: list[str], source_id: str) -> dict[str, Any]:
    return {
        "type": "value_error",
        "loc": (*loc, ids.index(source_id)),
        "msg": f"no source {source_id} among the caller's",
        "input": source_id,
    }
