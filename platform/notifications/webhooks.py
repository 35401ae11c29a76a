"""Signed webhooks.

The receiver verifies ``X-Verity-Signature: sha256=<hex>`` = HMAC-SHA256(secret,
``<X-Verity-Timestamp>.<body>``) and rejects old timestamps, so a captured call cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from functools import cache
from ipaddress import ip_network
from typing import Any

from django.conf import settings

from safefetch import FetchError, FetchErrorCode, FetchPolicy, safe_request

SIGNATURE_HEADER = "X-Verity-Signature"
TIMESTAMP_HEADER = "X-Verity-Timestamp"
EVENT_HEADER = "X-Verity-Event"


class WebhookFailed(Exception):
    """Delivery failed; ``retryable`` tells whether trying again later may help."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, max_age: int = 300) -> bool:
    """What a receiver does (our tests do it too)."""
    fresh = abs(time.time() - int(timestamp)) <= max_age
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


@cache
def webhook_policy() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=64 * 1024,
        total_timeout=10.0,
        max_redirects=0,
        exempt_networks=frozenset(ip_network(n) for n in settings.VERITY_FETCH_ALLOW_NETWORKS),
    )


def webhook_deliver(*, url: str, event: str, payload: dict[str, Any], secret: str) -> int:
    """POST the JSON payload, signed; returns the HTTP status or raises ``WebhookFailed``."""
    body = json.dumps(payload, default=str, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        return safe_request("POST", url, body=body, headers=headers, policy=webhook_policy()).status
    except FetchError as error:
        retryable = error.code in {FetchErrorCode.TIMEOUT, FetchErrorCode.CONNECTION_FAILED} or (
            error.code == FetchErrorCode.HTTP_STATUS and (error.status or 0) >= 500
        )
        raise WebhookFailed(str(error.code), error.message, retryable=retryable) from error
