"""Serve a job's webhook deliveries: list them with their attempts, and resend one."""

from fastapi import APIRouter, Depends, HTTPException

from coursegen.server.deps import JobDep, StoreDep, get_writer
from coursegen.server.routes.courses import errors
from coursegen.server.webhooks.deliveries import DeliveryStore
from coursegen.server.webhooks.models import WebhookDelivery, WebhookList, delivery_of

router = APIRouter(prefix="/courses", tags=["webhooks"], responses=errors(401))


@router.get("/{job_id}/webhooks", response_model=WebhookList, responses=errors(404))
async def list_webhooks(job: JobDep, store: StoreDep) -> WebhookList:
    """The job's webhook deliveries, oldest first: state, attempts, response codes, next try."""
    found = await DeliveryStore(store).of_job(job.id)
    return WebhookList(items=[delivery_of(row, attempts) for row, attempts in found])


@router.post(
    "/{job_id}/webhooks/{delivery_id}/retry",
    status_code=202,
    response_model=WebhookDelivery,
    dependencies=[Depends(get_writer)],
    responses=errors(403, 404, 409, 429, 503),
)
async def retry_webhook(job: JobDep, delivery_id: str, store: StoreDep) -> WebhookDelivery:
    """Send a delivery again now (same webhook-id), with a fresh retry window."""
    deliveries = DeliveryStore(store)
    before = await deliveries.retry(job.id, delivery_id)
    if before is None:
        raise HTTPException(status_code=404, detail=f"no webhook delivery {delivery_id}")
    if before == "sending":
        raise HTTPException(status_code=409, detail="an attempt is in flight; try again shortly")
    for row, attempts in await deliveries.of_job(job.id):
        if row["id"] == delivery_id:
            return delivery_of(row, attempts)
    raise HTTPException(status_code=404, detail=f"no webhook delivery {delivery_id}")
