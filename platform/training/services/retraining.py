"""Periodic retraining: what the beat schedule (editable in the admin) starts."""

from __future__ import annotations

import logging

from django.conf import settings

from training.models import Dataset, DatasetSource, ModelVersion, RunTrigger, Stage, TrainingRun
from training.services.datasets import (
    dataset_snapshot_from_reviews,
    holdout_register_reviewed,
)
from training.services.runs import RunOptions, training_run_create

logger = logging.getLogger(__name__)


def retraining_start() -> TrainingRun | None:
    """Snapshot the reviewer labels and, if they changed, queue a fine-tune of production on
    them; the run then evaluates on every holdout set, applies the gate and notifies."""
    holdout_register_reviewed()
    previous = Dataset.objects.filter(source=DatasetSource.REVIEWS).order_by("-version").first()
    snapshot = dataset_snapshot_from_reviews(unless_same_as=previous)
    if snapshot is None:
        logger.info("retraining skipped: no new reviewer labels since the last snapshot")
        return None
    production = ModelVersion.objects.filter(stage=Stage.PRODUCTION).first()
    members = settings.VERITY_RETRAIN_MEMBERS or _members_of(production)
    options = RunOptions(members=members, epochs=settings.VERITY_RETRAIN_EPOCHS)
    return training_run_create(
        options=options, dataset=snapshot, parent=production, trigger=RunTrigger.SCHEDULED
    )


def _members_of(version: ModelVersion | None) -> list[str]:
    if version is None:
        return ["cnn"]
    from pathlib import Path

    return sorted(p.stem for p in Path(version.artefact_path).glob("*.safetensors")) or ["cnn"]
