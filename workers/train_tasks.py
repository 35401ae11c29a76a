"""The train queue: training runs (long; one at a time per worker) and scheduled retraining."""

from __future__ import annotations

from celery import shared_task

from training.models import ModelVersion
from training.services.promotion import promotion_decide
from training.services.retraining import retraining_start
from training.services.runs import training_run_execute


@shared_task(acks_late=True)
def execute_training_run_task(run_id: str) -> str | None:
    run = training_run_execute(run_id=run_id)
    return run.status if run is not None else None


@shared_task(acks_late=True)
def scheduled_retraining_task() -> str | None:
    run = retraining_start()
    return str(run.pk) if run is not None else None


@shared_task(acks_late=True)
def apply_promotion_gate_task(model_version_id: int) -> str:
    decision = promotion_decide(candidate=ModelVersion.objects.get(pk=model_version_id))
    return decision.outcome
