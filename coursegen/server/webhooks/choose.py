"""Work out where a new job's webhooks go, refusing targets that may not be called."""

from coursegen.server.jobs.outbox import WebhookTarget
from coursegen.server.webhooks.keys import KeyWebhooks
from coursegen.server.webhooks.targets import TargetRefused, resolve
from coursegen.settings import Settings


async def job_webhook(
    url: str | None, key_id: str | None, keys: KeyWebhooks, settings: Settings
) -> WebhookTarget | None:
    """The job's target: the request's URL, else its API key's default; None for neither.

    Raises TargetRefused when the target is not allowed now, or nothing could sign for it.
    """
    key = await keys.get(key_id) if key_id else None
    url = url or (key.url if key else None)
    if not url:
        return None
    if key is None and settings.webhook_secret is None:
        raise TargetRefused(
            "webhooks need a signing secret: set COURSEGEN_WEBHOOK_SECRET, or use an API key "
            "created with --webhook-url"
        )
    await resolve(url, settings.webhook_allow_private)
    return WebhookTarget(url, key.key_id if key else None)
