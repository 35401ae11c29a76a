"""Handing work to the Celery queues by task name, so the web tier never imports the tasks
(the scoring task's module pulls in PyTorch)."""

from __future__ import annotations

from collections.abc import Iterable

from workers.celery import app

PROCESS_ITEM_TASK = "workers.io_tasks.process_item_task"
SCORE_PENDING_TASK = "workers.gpu_tasks.score_pending_task"


def enqueue_item_processing(item_ids: Iterable[int]) -> None:
    for item_id in item_ids:
        app.send_task(PROCESS_ITEM_TASK, args=[item_id], queue="io")


def wake_scoring() -> None:
    """Tell a scoring worker that items wait; it claims them from the database in batches."""
    app.send_task(SCORE_PENDING_TASK, queue="gpu")
