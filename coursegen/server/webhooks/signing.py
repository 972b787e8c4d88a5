"""Sign webhook messages per the Standard Webhooks specification (`standardwebhooks`)."""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    """The secret, if the library can sign with it (`whsec_` + base64); else ValueError."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_ (make one: coursegen keys create)")
    try:
        Webhook(secret)
    except Exception as exc:  # binascii.Error, or the library's empty-secret error
        raise ValueError(f"the webhook secret is not base64 after whsec_: {exc}") from exc
    return secret


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The headers of one attempt: the message id stays, the timestamp is the attempt's."""
    now = now.astimezone(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
