"""Periodic upkeep (scheduled by celery beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from detections.services.pipeline import stuck_items_requeue
from detections.services.privacy import page_urls_erase
from detections.services.rescoring import rescore_queue


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


@shared_task(acks_late=True)
def rescore_task() -> int:
    """Rate-limited re-scoring with the production version (after a promotion)."""
    check = rescore_queue(limit=settings.VERITY_RESCORE_PER_RUN)
    return check.items.count() if check is not None else 0
