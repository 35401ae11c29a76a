"""Periodic upkeep (scheduled by celery beat)."""

from __future__ import annotations

from celery import shared_task

from detections.services.pipeline import stuck_items_requeue


@shared_task(acks_late=True)
def sweep_stuck_items_task() -> dict[str, int]:
    result = stuck_items_requeue()
    return {
        "requeued_for_fetch": result.requeued_for_fetch,
        "released_for_scoring": result.released_for_scoring,
    }
