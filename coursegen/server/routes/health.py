"""Answer liveness probes, and say which model this replica writes with."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from coursegen.names import PROGRESS_STAGES, Stage
from coursegen.providers.info import ModelInfo
from coursegen.server.deps import OwnerDep

router = APIRouter(tags=["health"])


# How a person reads a stage (the web page's status line); a stage without one reads as its name.
_STAGE_LABELS: dict[Stage, str] = {
    "topics": "topic lists",
    "content": "lessons",
    "polish": "polishing",
}


class StageInfo(BaseModel):
    """A stage of the pipeline, as `stage` and `progress` events name it."""

    name: Stage = Field(description="The stage's name in events.")
    label: str = Field(description="The stage in words, for people.")


class ServiceInfo(BaseModel):
    """What `GET /info` answers."""

    version: str = Field(description="The coursegen version.")
    model: ModelInfo = Field(description="The chat model this replica writes courses with.")
    stages: list[StageInfo] = Field(description="The pipeline's stages, in the order they run.")


STAGES = [StageInfo(name=s, label=_STAGE_LABELS.get(s, s)) for s in PROGRESS_STAGES]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Report that the process is up."""
    return {"status": "ok"}


@router.get("/info", response_model=ServiceInfo)
async def info(request: Request, owner: OwnerDep) -> ServiceInfo:
    """The version, the chat model in use and the stages (a key is needed once keys are in use)."""
    return ServiceInfo(
        version=request.app.version, model=request.app.state.model_info, stages=STAGES
    )
