"""Sending notifications: e-mail at once, webhooks through the queue (retried with backoff)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)

WEBHOOK_TASK = "workers.notify_tasks.deliver_webhook_task"


def notify(
    *,
    subject: str,
    text: str,
    event: str,
    payload: dict[str, Any],
    emails: Sequence[str] = (),
    webhooks: Sequence[str] = (),
    secret: str = "",
) -> None:
    """E-mail the text to ``emails`` and queue one signed webhook per URL in ``webhooks``."""
    if emails:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, list(emails), fail_silently=False)
    if webhooks:
        from workers.celery import app

        signing_secret = secret or settings.VERITY_WEBHOOK_SECRET

        def send() -> None:
            for url in webhooks:
                app.send_task(WEBHOOK_TASK, args=[url, event, payload, signing_secret], queue="io")

        transaction.on_commit(send)
    logger.info(
        "notified %d address(es) and %d webhook(s): %s", len(emails), len(webhooks), subject
    )
