"""Runs over the API (start, live progress, list, cancel) and the sweep that ends what a dead
worker or a lost message left behind."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apitokens.models import ApiToken
from apitokens.services import token_create
from crawls.models import CrawlJob, CrawlRun, RunStatus
from crawls.services.runs import crawl_runs_sweep
from detections.models import Check, CheckItem
from tests.crawls.support import broker, queued_tasks

pytestmark = pytest.mark.django_db


def run_of(job: CrawlJob, status: str = RunStatus.QUEUED, **fields: Any) -> CrawlRun:
    return CrawlRun.objects.create(job=job, trigger="manual", status=status, **fields)


def test_starting_a_run_queues_it_on_the_crawl_queue(
    make_job: Callable[..., CrawlJob],
    newsroom_api: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = make_job()
    broker().delete("crawl")

    with django_capture_on_commit_callbacks(execute=True):
        response = newsroom_api.post(f"/api/v1/crawls/jobs/{job.pk}/runs")

    assert response.status_code == 202
    run = response.json()
    assert (
        run | {"status": "queued", "trigger": "manual", "job": {"id": job.pk, "name": job.name}}
        == run
    )
    assert run["summary"] is None and run["report_url"] is None
    assert queued_tasks("crawl") == [("workers.crawl_tasks.execute_crawl_run_task", [run["id"]])]


def test_a_second_run_is_refused_while_one_is_active(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    job = make_job()
    active = run_of(job, RunStatus.SCORING)

    response = newsroom_api.post(f"/api/v1/crawls/jobs/{job.pk}/runs")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "run_in_progress",
        "message": "This job is already running; wait for that run to end or cancel it.",
        "detail": {"run": str(active.pk)},
    }


def test_a_run_shows_its_progress_live(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    token, _ = token_create(name="crawl", scopes=["submit"], kind="crawler")
    run = run_of(
        make_job(),
        RunStatus.CRAWLING,
        token=token,
        pages=40,
        pages_per_second=12.5,
        elapsed_seconds=3.2,
        images_found=120,
        images_submitted=100,
        images_known=30,
        images_new=70,
        dropped={"svg": 3},
        errors={"http_404": 2},
    )
    check = Check.objects.create(token=token, source="crawler", reference=run.reference)
    for index, status in enumerate(["done", "done", "failed", "scoring"]):
        CheckItem.objects.create(check_request=check, index=index, url="u", status=status)

    detail = newsroom_api.get(f"/api/v1/crawls/runs/{run.pk}").json()

    assert detail["status"] == "crawling"
    assert detail["progress"] == {
        "pages": 40,
        "pages_per_second": 12.5,
        "elapsed_seconds": 3.2,
        "images_found": 120,
        "images_submitted": 100,
        "images_known": 30,
        "images_new": 70,
        "dropped": {"svg": 3},
        "errors": {"http_404": 2},
        "pages_skipped": {},
    }
    assert detail["scoring"] == {"total": 4, "done": 2, "failed": 1, "pending": 1}
    assert detail["check_ids"] == [str(check.pk)]


def test_runs_are_listed_newest_first_by_job_and_status(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    front, science = make_job(), make_job(name="Science desk")
    old = run_of(front, RunStatus.DONE)
    new = run_of(front, RunStatus.FAILED)
    other = run_of(science, RunStatus.DONE)

    def ids(**query: Any) -> list[str]:
        page = newsroom_api.get("/api/v1/crawls/runs", query).json()
        return [run["id"] for run in page["results"]]

    assert ids() == [str(other.pk), str(new.pk), str(old.pk)]
    assert ids(job=front.pk) == [str(new.pk), str(old.pk)]
    assert ids(job=front.pk, status="done") == [str(old.pk)]
    assert newsroom_api.get("/api/v1/crawls/runs", {"status": "lost"}).status_code == 400


def test_cancelling_a_waiting_run_ends_it_at_once(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    queued = run_of(make_job())
    scoring = run_of(make_job(name="Other"), RunStatus.SCORING)

    for run in (queued, scoring):
        response = newsroom_api.post(f"/api/v1/crawls/runs/{run.pk}/cancel")
        assert response.status_code == 202
        assert response.json()["status"] == "cancelled"
        assert response.json()["finished_at"] is not None


def test_cancelling_a_crawl_asks_its_worker_to_stop_it(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    run = run_of(make_job(), RunStatus.CRAWLING)

    first = newsroom_api.post(f"/api/v1/crawls/runs/{run.pk}/cancel").json()
    again = newsroom_api.post(f"/api/v1/crawls/runs/{run.pk}/cancel").json()

    assert first["status"] == "crawling" and first["cancel_requested_at"] is not None
    assert again["cancel_requested_at"] == first["cancel_requested_at"]


def test_an_ended_run_cannot_be_cancelled(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    run = run_of(make_job(), RunStatus.DONE)

    response = newsroom_api.post(f"/api/v1/crawls/runs/{run.pk}/cancel")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "run_finished"


def test_other_newsrooms_runs_are_invisible(
    make_job: Callable[..., CrawlJob], client_with: Callable[..., APIClient]
) -> None:
    run = run_of(make_job())
    stranger = client_with("submit", "read")

    assert stranger.get(f"/api/v1/crawls/runs/{run.pk}").status_code == 404
    assert stranger.post(f"/api/v1/crawls/runs/{run.pk}/cancel").status_code == 404
    assert stranger.get("/api/v1/crawls/runs").json()["count"] == 0


def test_the_sweep_fails_crawls_whose_worker_died_and_revokes_their_token(
    make_job: Callable[..., CrawlJob], settings: Any
) -> None:
    settings.VERITY_CRAWL_STALE_SECONDS = 60
    token, _ = token_create(name="crawl", scopes=["submit"], kind="crawler")
    now = timezone.now()
    dead = run_of(
        make_job(), RunStatus.CRAWLING, token=token, heartbeat_at=now - timedelta(seconds=61)
    )
    alive = run_of(make_job(name="Alive"), RunStatus.CRAWLING, heartbeat_at=now)

    result = crawl_runs_sweep()

    assert result.abandoned == 1
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and "stopped reporting progress" in dead.error
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None  # an orphaned crawler stops
    assert CrawlRun.objects.get(pk=alive.pk).status == RunStatus.CRAWLING


def test_a_crawl_cancelled_while_its_worker_died_ends_cancelled(
    make_job: Callable[..., CrawlJob], settings: Any
) -> None:
    settings.VERITY_CRAWL_STALE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    run = run_of(
        make_job(), RunStatus.CRAWLING, heartbeat_at=long_ago, cancel_requested_at=long_ago
    )

    assert crawl_runs_sweep().abandoned == 1

    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.CANCELLED, "")


def test_the_sweep_fails_runs_no_worker_started_and_settles_overdue_ones(
    make_job: Callable[..., CrawlJob], settings: Any
) -> None:
    settings.VERITY_CRAWL_START_TIMEOUT_SECONDS = 3600
    never = run_of(make_job())
    CrawlRun.objects.filter(pk=never.pk).update(created_at=timezone.now() - timedelta(hours=2))
    fresh = run_of(make_job(name="Fresh"))
    overdue = run_of(
        make_job(name="Overdue"),
        RunStatus.SCORING,
        scoring_deadline=timezone.now() - timedelta(seconds=1),
    )

    result = crawl_runs_sweep()

    assert (result.never_started, result.settled) == (1, 1)
    assert CrawlRun.objects.get(pk=never.pk).status == RunStatus.FAILED
    assert CrawlRun.objects.get(pk=fresh.pk).status == RunStatus.QUEUED
    assert CrawlRun.objects.get(pk=overdue.pk).status == RunStatus.DONE


def test_the_crawl_command_can_hand_a_run_to_the_crawl_workers(
    make_job: Callable[..., CrawlJob], django_capture_on_commit_callbacks: Any
) -> None:
    job = make_job()
    broker().delete("crawl")
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("crawl", str(job.pk), "--queue", stdout=out)

    run = CrawlRun.objects.get(job=job)
    assert out.getvalue() == f"run {run.pk} queued for {job}\n"
    assert queued_tasks("crawl") == [("workers.crawl_tasks.execute_crawl_run_task", [str(run.pk)])]


def test_the_crawl_command_names_what_it_cannot_find(make_job: Callable[..., CrawlJob]) -> None:
    make_job(name="Twin")
    make_job(name="Twin")

    with pytest.raises(CommandError, match="no crawl job with id or name 'Nobody'"):
        call_command("crawl", "Nobody")
    with pytest.raises(CommandError, match="several crawl jobs are named 'Twin': give the id"):
        call_command("crawl", "Twin")
