"""Periodic upkeep (scheduled by celery beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from detections.services.pipeline import stuck_items_requeue
from detections.services.privacy import page_urls_erase


@shared_task(acks_late=True)
def sweep_stuck_items_task() -> dict[str, int]:
    result = stuck_items_requeue()
    return {
        "requeued_for_fetch": result.requeued_for_fetch,
        "released_for_scoring": result.released_for_scoring,
    }


@shared_task(acks_late=True)
def erase_old_page_urls_task() -> int:
    return page_urls_erase(older_than_days=settings.VERITY_PAGE_URL_RETENTION_DAYS)
