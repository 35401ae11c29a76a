"""The gpu queue: score waiting items in micro-batches with the model loaded once per process."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from detections.engine import current_scorer
from detections.services.pipeline import items_score_pending


@shared_task(acks_late=True)
def score_pending_task() -> int:
    """Drain the items waiting for a score, batch by batch; returns how many were scored.

    Wake-ups outnumber batches, so most calls find little or nothing to claim: that is cheap."""
    scored = 0
    while True:
        result = items_score_pending(
            scorer=current_scorer(),
            batch_size=settings.VERITY_SCORING_BATCH_SIZE,
            wait_ms=settings.VERITY_SCORING_BATCH_WAIT_MS,
        )
        scored += result.items
        if result.items == 0:
            return scored
