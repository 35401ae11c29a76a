"""Training through the train queue, and a promotion picked up by a running scoring worker."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from detections.models import ScoringWorker, Verdict
from tests.support import StaticServer, WorkerProcess, photo_like_jpeg, wait_for
from training.artefacts import artefact_digest, default_artefact_path
from training.models import Evaluation, ModelVersion, RunStatus, Stage, TrainingRun
from training.selectors import production_model_version
from training.services.datasets import latest_holdouts
from training.services.promotion import promotion_override
from training.services.runs import RunOptions, training_run_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_tiny_run_on_the_train_queue_registers_an_evaluated_candidate(
    start_worker: Callable[..., WorkerProcess],
    shared_media: None,
    empty_queues: None,
    integration_dir: Path,
    data_dir: Path,
) -> None:
    artefacts = integration_dir / "artefacts"
    start_worker("train", env={"VERITY_ARTEFACT_DIR": str(artefacts)})
    production = production_model_version()
    options = RunOptions(
        members=["cnn"],
        epochs=1,
        limit_per_class=16,
        max_steps=3,
        eval_limit_per_class=8,
        degradations=["original", "jpeg_q75"],
    )

    run = training_run_create(options=options)
    wait_for(
        lambda: (
            TrainingRun.objects.get(pk=run.pk).status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        ),
        timeout=600,
        what="the training run to finish",
        interval=1,
    )

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error + run.log[-3000:]
    candidate = run.model_version
    assert candidate is not None and candidate.parent == production
    assert candidate.label == f"{production.name}-{_next_minor(production.version)}"
    assert Path(candidate.artefact_path).is_relative_to(artefacts)
    assert candidate.artefact_sha256 == artefact_digest(Path(candidate.artefact_path))
    assert run.progress == 1.0 and run.device.startswith(("cpu", "cuda"))
    assert "cnn epoch 1" in run.log and "gate:" in run.log
    assert "cnn as it starts (the parent): val loss" in run.log  # a fine-tune must beat it
    holdouts = {h.name for h in latest_holdouts()}
    assert holdouts >= {"cifake", "faces_140k", "faces_swap", "wild"}
    for version in (candidate, production):
        measured = Evaluation.objects.filter(model_version=version, limit_per_class=8)
        assert {e.holdout.name for e in measured} == holdouts
        assert set(measured.first().metrics) == {"original", "jpeg_q75"}
    decision = candidate.decisions.get()
    assert decision.baseline == production and len(decision.reasons) >= len(holdouts)


def _next_minor(version: str) -> str:
    major, minor, *_ = [*version.split("."), "0", "0"]
    return f"{major}.{int(minor) + 1}.0"


def test_a_promotion_is_picked_up_by_a_running_scoring_worker_without_restart(
    start_worker: Callable[..., WorkerProcess],
    shared_media: None,
    empty_queues: None,
    image_server: StaticServer,
    api: APIClient,
    integration_dir: Path,
) -> None:
    start_worker("io", pool="threads", concurrency=2)
    start_worker("gpu")
    before = production_model_version()
    first = api.post(
        "/api/v1/checks",
        {"items": [{"url": image_server.add("/promo/1.jpg", photo_like_jpeg(7))}]},
        format="json",
    ).json()
    first_done = api.get(f"/api/v1/checks/{first['id']}", {"wait": 60}).json()
    assert first_done["items"][0]["verdict"]["model_version"] == before.label
    copy = integration_dir / "promoted-artefact"
    shutil.copytree(default_artefact_path(), copy, dirs_exist_ok=True)
    candidate = ModelVersion.objects.create(
        name=before.name,
        version="99.0.0",
        artefact_path=str(copy),
        artefact_sha256=artefact_digest(copy),
        parent=before,
        stage=Stage.CANDIDATE,
    )

    promotion_override(
        candidate=candidate,
        user=get_user_model().objects.create(username="ops"),
        reason="integration test of a hot reload",
    )
    second = api.post(
        "/api/v1/checks",
        {"items": [{"url": image_server.add("/promo/2.jpg", photo_like_jpeg(8))}]},
        format="json",
    ).json()
    done = api.get(f"/api/v1/checks/{second['id']}", {"wait": 60}).json()

    assert done["items"][0]["verdict"]["model_version"] == candidate.label
    first_image = first_done["items"][0]["image_sha256"]
    assert Verdict.objects.get(image_id=first_image).model_version == before, "history kept"
    assert ScoringWorker.objects.get().model_version == candidate
