"""A scoring worker killed with SIGKILL in the middle of a batch loses and duplicates nothing:
the sweep releases its stale claims and a restarted worker finishes the work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from detections.models import CheckItem, ItemStatus, Verdict
from tests.support import StaticServer, WorkerProcess, photo_like_jpeg, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RECOVERY = {
    "VERITY_STUCK_AFTER_SECONDS": "3",
    "VERITY_SWEEP_INTERVAL_SECONDS": "1",
    "VERITY_SCORING_BATCH_SIZE": "8",
}


def _claimed_mid_batch() -> bool:
    return CheckItem.objects.filter(status=ItemStatus.SCORING, claimed_at__isnull=False).exists()


def test_sigkill_mid_batch_then_restart_every_item_ends_once(
    start_worker: Callable[..., WorkerProcess],
    shared_media: None,
    empty_queues: None,
    image_server: StaticServer,
    api: APIClient,
    integration_dir: Path,
) -> None:
    start_worker(
        "io",
        pool="threads",
        concurrency=4,
        env=RECOVERY,
        extra_args=("--beat", "--schedule", str(integration_dir / "beat-schedule")),
    )
    scoring = start_worker("gpu", env=RECOVERY)
    urls = [
        image_server.add(f"/crash/{seed}.jpg", photo_like_jpeg(seed, size=(1024, 768)))
        for seed in range(100, 124)
    ]

    check_id = api.post(
        "/api/v1/checks", {"items": [{"url": u} for u in urls]}, format="json"
    ).json()["id"]
    wait_for(_claimed_mid_batch, timeout=120, what="a scoring batch to be claimed", interval=0.005)
    scoring.kill()

    assert _claimed_mid_batch(), "the worker died holding a claimed batch"
    unfinished = CheckItem.objects.exclude(status__in=(ItemStatus.DONE, ItemStatus.FAILED)).count()
    assert unfinished > 0
    start_worker("gpu", env=RECOVERY)
    done = api.get(f"/api/v1/checks/{check_id}", {"wait": 30}).json()
    if done["status"] != "done":
        done = api.get(f"/api/v1/checks/{check_id}", {"wait": 30}).json()

    assert done["status"] == "done"
    assert [item["status"] for item in done["items"]] == ["done"] * len(urls)
    assert Verdict.objects.count() == len(urls), "one verdict per image, none duplicated"
    assert len({item["verdict"]["image_sha256"] for item in done["items"]}) == len(urls)
