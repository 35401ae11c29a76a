"""Outgoing webhooks, retried with backoff when the receiver is briefly unavailable."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.app.task import Task

from notifications.webhooks import WebhookFailed, webhook_deliver


@shared_task(bind=True, acks_late=True, max_retries=5)
def deliver_webhook_task(
    self: Task, url: str, event: str, payload: dict[str, Any], secret: str
) -> int:
    try:
        return webhook_deliver(url=url, event=event, payload=payload, secret=secret)
    except WebhookFailed as failure:
        if not failure.retryable:
            raise
        raise self.retry(exc=failure, countdown=min(300, 5 * 2**self.request.retries)) from failure
