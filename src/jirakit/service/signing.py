"""Standard Webhooks signatures, for us (sending) and for your app (receiving).

    from jirakit.service.signing import verify
    event = verify(secret, request.headers, raw_body)   # raises WebhookVerificationError

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature header is
``v1,<base64 HMAC-SHA256>``, several separated by spaces while a secret is being rotated.
Secrets look like ``whsec_<base64 key>``. Verification works over the raw bytes, in
constant time, and refuses timestamps more than five minutes away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jirakit.errors import JiraError

TOLERANCE = 5 * 60
PREFIX = "whsec_"


class WebhookVerificationError(JiraError):
    """The delivery is not from us, or was altered, or is too old or too new."""


def _key(secret: str) -> bytes:
    raw = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise WebhookVerificationError("the webhook secret is not whsec_<base64>") from None


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(
    secrets: str | Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers for one delivery; one signature per secret (newest first)."""
    ts = int(time.time()) if timestamp is None else timestamp
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signature(s, msg_id, ts, body) for s in keys),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a delivery and return its parsed JSON body."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    sigs = lower.get("webhook-signature")
    if not msg_id or not stamp or not sigs:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    expected = signature(secret, msg_id, ts, body).encode()
    for candidate in sigs.split(" "):
        if hmac.compare_digest(candidate.encode(), expected):
            return json.loads(body)
    raise WebhookVerificationError("no signature matches this secret")
