"""Crawls in the admin: jobs edited with their schedule, runs with their report and exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from crawls.models import CrawlJob, CrawlRun, RunStatus
from crawls.services.reports import crawl_run_settle
from detections.models import Check
from tests.crawls.support import scoring_run, seen, submitted
from tests.factories import ImageFactory, ModelVersionFactory, VerdictFactory

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Gazette",
    "spider": "site",
    "start_urls": "https://gazette.example/\nhttps://gazette.example/world/",
    "sitemap_urls": "",
    "page_urls": "",
    "allowed_domains": "",
    "max_pages": "100",
    "max_depth": "2",
    "obey_robots": "on",
    "concurrency_per_domain": "1",
    "download_delay": "0.5",
    "autothrottle": "on",
    "retry_times": "2",
    "schedule_cron": "0 7 * * *",
    "schedule_every_minutes": "",
    "schedule_timezone": "UTC",
    "notify_emails": "desk@gazette.example",
    "notify_webhooks": "",
    "enabled": "on",
}


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def done_run(make_job: Callable[..., CrawlJob]) -> CrawlRun:
    run = scoring_run(make_job())
    verdict = VerdictFactory(image=ImageFactory(), model_version=ModelVersionFactory())
    submitted(run, seen("flagged", "https://gazette.example/story", verdict))
    crawl_run_settle(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_a_job_added_in_the_admin_gets_its_beat_schedule(staff: Client) -> None:
    response = staff.post(reverse("admin:crawls_crawljob_add"), FORM)

    assert response.status_code == 302, response.context["adminform"].form.errors
    job = CrawlJob.objects.get()
    assert job.start_urls == ["https://gazette.example/", "https://gazette.example/world/"]
    assert job.notify_emails == ["desk@gazette.example"]
    task = PeriodicTask.objects.get(pk=job.periodic_task_id)
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == ("0", "7", True)


def test_the_admin_form_refuses_a_job_that_cannot_run(staff: Client) -> None:
    response = staff.post(
        reverse("admin:crawls_crawljob_add"),
        {**FORM, "start_urls": "http://10.0.0.8/", "schedule_cron": "61 * * * *"},
    )

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "10.0.0.8 is a private network address" in errors and "61 * * * *" in errors
    assert not CrawlJob.objects.exists()


def test_job_pages_render_and_the_start_action_queues_a_run(
    staff: Client, make_job: Callable[..., CrawlJob], django_capture_on_commit_callbacks: Any
) -> None:
    job = make_job(schedule_every_minutes=60)

    assert staff.get(reverse("admin:crawls_crawljob_changelist")).status_code == 200
    page = staff.get(reverse("admin:crawls_crawljob_change", args=[job.pk]))
    assert page.status_code == 200 and job.webhook_secret in page.content.decode()
    staff.post(
        reverse("admin:crawls_crawljob_changelist"),
        {"action": "start_runs", "_selected_action": [job.pk]},
    )
    assert CrawlRun.objects.get(job=job).status == RunStatus.QUEUED


def test_a_run_page_shows_its_report_and_exports_it(staff: Client, done_run: CrawlRun) -> None:
    page = staff.get(reverse("admin:crawls_crawlrun_change", args=[done_run.pk])).content.decode()
    csv_export = staff.get(reverse("admin:crawls_crawlrun_report_csv", args=[done_run.pk]))
    json_export = staff.get(reverse("admin:crawls_crawlrun_report_json", args=[done_run.pk]))

    image = done_run.findings.get().image_id
    assert image[:12] in page and "https://cdn.example/flagged.jpg" in page
    check = Check.objects.get(reference=done_run.reference)
    assert reverse("admin:detections_check_change", args=[check.pk]) in page
    assert "1 · https://gazette.example/story" in page  # the page with the most flagged images
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_export.streaming_content).decode())))
    assert [row["image_sha256"] for row in rows] == [image]
    document = json.loads(json_export.content)
    assert [f["image_sha256"] for f in document["flagged"]] == [image]
    assert staff.get(reverse("admin:crawls_crawlrun_changelist")).status_code == 200


def test_runs_are_cancelled_from_the_admin(
    staff: Client, make_job: Callable[..., CrawlJob]
) -> None:
    run = CrawlRun.objects.create(job=make_job(), trigger="manual")

    staff.post(
        reverse("admin:crawls_crawlrun_changelist"),
        {"action": "cancel_runs", "_selected_action": [run.pk]},
    )

    assert CrawlRun.objects.get(pk=run.pk).status == RunStatus.CANCELLED
