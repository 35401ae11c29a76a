"""Periodic retraining: an editable beat schedule that turns new reviewer labels into a run."""

from __future__ import annotations

import hashlib

import pytest
import redis
from django_celery_beat.models import PeriodicTask

from review.models import ReviewLabel
from tests.factories import ImageFactory, ModelVersionFactory
from training.models import RunStatus, RunTrigger, Stage, TrainingRun
from training.services.datasets import in_reviewed_holdout_bucket
from training.services.retraining import retraining_start

pytestmark = pytest.mark.django_db


def outside_holdout_bucket(count: int) -> list[str]:
    hashes = (hashlib.sha256(f"r{n}".encode()).hexdigest() for n in range(200))
    return [h for h in hashes if not in_reviewed_holdout_bucket(h)][:count]


def test_the_schedule_is_a_beat_task_people_can_edit() -> None:
    task = PeriodicTask.objects.get(name="Retrain on reviewer labels")

    assert task.task == "workers.train_tasks.scheduled_retraining_task"
    assert task.queue == "train" and task.enabled
    assert str(task.crontab.hour) == "3" and str(task.crontab.day_of_week) == "0"


def test_new_labels_start_a_fine_tune_of_production_on_the_train_queue(
    django_capture_on_commit_callbacks, settings
) -> None:
    settings.VERITY_RETRAIN_MEMBERS = ["cnn"]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("train")
    production = ModelVersionFactory(stage=Stage.PRODUCTION)
    for digest in outside_holdout_bucket(3):
        ReviewLabel.objects.create(image=ImageFactory(sha256=digest), label="ai")

    with django_capture_on_commit_callbacks(execute=True):
        run = retraining_start()

    assert run is not None
    assert (run.trigger, run.status, run.parent_version) == (
        RunTrigger.SCHEDULED,
        RunStatus.QUEUED,
        production,
    )
    assert run.dataset is not None and run.dataset.images.count() == 3
    assert run.config["members"] == ["cnn"] and run.config["epochs"] == 2
    assert broker.llen("train") == 1


def test_no_new_labels_means_no_run(settings) -> None:
    settings.VERITY_RETRAIN_MEMBERS = ["cnn"]
    ModelVersionFactory(stage=Stage.PRODUCTION)
    for digest in outside_holdout_bucket(2):
        ReviewLabel.objects.create(image=ImageFactory(sha256=digest), label="real")
    assert retraining_start() is not None

    assert retraining_start() is None
    assert TrainingRun.objects.count() == 1
