"""Answer liveness probes, and say which model this replica writes with."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from coursegen.providers.info import ModelInfo
from coursegen.server.deps import OwnerDep

router = APIRouter(tags=["health"])


class ServiceInfo(BaseModel):
    """What `GET /info` answers."""

    version: str = Field(description="The coursegen version.")
    model: ModelInfo = Field(description="The chat model this replica writes courses with.")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Report that the process is up."""
    return {"status": "ok"}


@router.get("/info", response_model=ServiceInfo)
async def info(request: Request, owner: OwnerDep) -> ServiceInfo:
    """The version and the chat model in use (a key is needed once keys are in use)."""
    return ServiceInfo(version=request.app.version, model=request.app.state.model_info)
