"""Serve the sources API: upload, list, read and delete the documents courses are grounded in."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, Response, UploadFile

from coursegen.chains.language import detect_language
from coursegen.server.deps import OwnerDep, WriterDep, get_writer
from coursegen.server.routes.courses import errors
from coursegen.server.sources.models import SourceInfo, SourcePage
from coursegen.server.sources.store import SourceStore
from coursegen.sources.chunk import chunk_source
from coursegen.sources.models import Chunk, ParsedSource, SourceError
from coursegen.sources.parse import SUPPORTED, parse_source

router = APIRouter(prefix="/sources", tags=["sources"], responses=errors(401))


def get_sources(request: Request) -> SourceStore:
    store: SourceStore | None = request.app.state.jobs.sources
    if store is None:
        raise RuntimeError("the source store is not open")
    return store


SourcesDep = Annotated[SourceStore, Depends(get_sources)]


def _read(filename: str, media_type: str | None, data: bytes) -> tuple[ParsedSource, list[Chunk]]:
    parsed = parse_source(filename, media_type, data)
    return parsed, chunk_source(parsed)


@router.post(
    "",
    status_code=201,
    response_model=SourceInfo,
    responses={
        **errors(400, 403, 413, 429, 503),
        502: {"description": "The embeddings model (COURSEGEN_EMBEDDINGS) failed."},
        415: {"description": f"Not a supported format: {SUPPORTED}."},
        422: {"description": "Empty, unreadable or encrypted file (or no `file` field)."},
    },
)
async def upload_source(
    request: Request,
    file: Annotated[UploadFile, File(description=f"The document: {SUPPORTED}.")],
    store: SourcesDep,
    owner: WriterDep,
) -> SourceInfo:
    """Upload a document (multipart, field `file`); it is parsed, chunked and indexed (and
    its passages embedded, when an embeddings model is configured)."""
    limit = request.app.state.settings.max_source_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=f"the file is over {limit} bytes")
    filename = file.filename or "upload"
    try:
        # Parsing a large PDF is seconds of CPU: off the event loop.
        parsed, chunks = await asyncio.to_thread(_read, filename, file.content_type, data)
    except SourceError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    sample = " ".join(c.text for c in chunks[:3])[:3000]
    language = detect_language(sample) if sample else "en"
    try:
        return await store.add(
            owner, parsed, chunks, filename=filename, size=len(data), language=language
        )
    except SourceError as exc:  # the embeddings model failed (502)
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc


@router.get("", response_model=SourcePage)
async def list_sources(store: SourcesDep, owner: OwnerDep) -> SourcePage:
    """The caller's sources, newest first."""
    return SourcePage(items=await store.list_sources(owner))


@router.get("/{source_id}", response_model=SourceInfo, responses=errors(404))
async def get_source(source_id: str, store: SourcesDep, owner: OwnerDep) -> SourceInfo:
    """One source of the caller's: title, kind, pages, chunks, headings."""
    info = await store.get(owner, source_id)
    if info is None:
        raise HTTPException(status_code=404, detail=f"no source {source_id}")
    return info


@router.delete(
    "/{source_id}",
    status_code=204,
    dependencies=[Depends(get_writer)],
    responses=errors(403, 404, 429, 503),
)
async def delete_source(source_id: str, store: SourcesDep, owner: OwnerDep) -> Response:
    """Delete the source, its chunks and its index entries (courses already written keep
    their citations)."""
    if not await store.delete(owner, source_id):
        raise HTTPException(status_code=404, detail=f"no source {source_id}")
    return Response(status_code=204)
