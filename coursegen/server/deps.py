"""Provide request dependencies: the jobs service, the caller's identity, the current job."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from coursegen.server.apikeys import LOCAL_OWNER, ApiKey, ApiKeyStore
from coursegen.server.core.limits import RateLimiter, RunSlots
from coursegen.server.jobs.models import Job
from coursegen.server.jobs.service import JobService
from coursegen.server.jobs.store import SqlJobStore
from coursegen.server.threads import ThreadRegistry
from coursegen.settings import Settings


def get_service(request: Request) -> JobService:
    return request.app.state.jobs


def get_runs(request: Request) -> RunSlots:
    """The LangServe runs in flight, which count against the jobs-at-once limit."""
    return get_service(request).runs


def get_keys(request: Request) -> ApiKeyStore:
    """The API keys, which name the caller."""
    return request.app.state.keys


def get_limiter(request: Request) -> RateLimiter:
    """The write-rate limiter of every owner."""
    return request.app.state.limiter


def get_threads(request: Request) -> ThreadRegistry:
    """The LangServe threads, with their owners and last use."""
    return request.app.state.threads


bearer = HTTPBearer(auto_error=False, description="An API key from `coursegen keys create`.")


async def get_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> ApiKey | None:
    """The caller's API key (None while no key exists: single-user mode); 401 without one."""
    keys = get_keys(request)
    if not await keys.enabled():
        return None
    key = await keys.key_of(credentials.credentials) if credentials else None
    if key is None:
        raise HTTPException(
            status_code=401,
            detail="a valid API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


ApiKeyDep = Annotated[ApiKey | None, Depends(get_api_key)]


async def get_owner(key: ApiKeyDep) -> str:
    """The caller's identity: the owner of its API key (or `local` while no key exists)."""
    return key.owner if key else LOCAL_OWNER


ServiceDep = Annotated[JobService, Depends(get_service)]
OwnerDep = Annotated[str, Depends(get_owner)]


async def get_writer(request: Request, owner: OwnerDep) -> str:
    """The caller of a write request, counted against its rate limit (429 past it)."""
    await get_limiter(request).hit(owner)
    return owner


WriterDep = Annotated[str, Depends(get_writer)]


async def get_job(job_id: str, service: ServiceDep, owner: OwnerDep) -> Job:
    """Load a job of the caller's, or answer 404 (also for other owners' jobs)."""
    job = await service.get(job_id, owner)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no course job {job_id}")
    return job


def get_store(request: Request) -> SqlJobStore:
    return request.app.state.jobs.store


def get_settings_of(request: Request) -> Settings:
    return request.app.state.settings


JobDep = Annotated[Job, Depends(get_job)]
SettingsDep = Annotated[Settings, Depends(get_settings_of)]
StoreDep = Annotated[SqlJobStore, Depends(get_store)]
