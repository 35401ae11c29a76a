"""The io queue: fetch safely, decode, hash, deduplicate (I/O bound; run with many threads)."""

from __future__ import annotations

from celery import shared_task

from detections.services.pipeline import item_fetch_and_ingest
from detections.services.safety import TransientFetchFailure


@shared_task(
    acks_late=True,
    autoretry_for=(TransientFetchFailure,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=3,
)
def process_item_task(item_id: int) -> None:
    item_fetch_and_ingest(item_id=item_id)
