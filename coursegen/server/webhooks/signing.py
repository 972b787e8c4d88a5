"""Sign webhook messages per the Standard Webhooks specification (`standardwebhooks`)."""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

from coursegen.settings import WEBHOOK_SECRET_PREFIX


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The headers of one attempt: the message id stays, the timestamp is the attempt's."""
    now = now.astimezone(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
