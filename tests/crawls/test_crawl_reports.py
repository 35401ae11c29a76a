"""A run's report: what is flagged, what is new since the job's previous run, which verdicts a
newer model version changed, which pages hold the most flagged images; as JSON, CSV and pages of
images; and the alert when something is newly flagged."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apitokens.services import token_create
from crawls.models import CrawlJob, CrawlRun, RunStatus
from crawls.services.reports import crawl_run_settle
from detections.models import Check, CheckItem, Image, Verdict
from tests.crawls.support import broker, queued_tasks, scoring_run, seen, submitted
from tests.factories import ImageFactory, ModelVersionFactory, VerdictFactory
from training.models import ModelVersion

pytestmark = pytest.mark.django_db

PAGE_1 = "https://gazette.example/politics"
PAGE_2 = "https://gazette.example/science"


def judged(image: Image, version: ModelVersion, band: str, probability: float) -> Verdict:
    return VerdictFactory(image=image, model_version=version, band=band, probability_ai=probability)


@pytest.fixture
def versions() -> tuple[ModelVersion, ModelVersion]:
    return ModelVersionFactory(version="1.0.0"), ModelVersionFactory(version="2.0.0")


@pytest.fixture
def images() -> dict[str, Image]:
    return {name: ImageFactory() for name in "ABCDEF"}


@pytest.fixture
def two_runs(
    make_job: Callable[..., CrawlJob],
    versions: tuple[ModelVersion, ModelVersion],
    images: dict[str, Image],
) -> tuple[CrawlRun, CrawlRun]:
    """Run 1 judged by version 1; then version 2 is promoted and run 2 finds A again (now likely
    AI), B unchanged, E and F for the first time, and D no more."""
    v1, v2 = versions
    job = make_job(notify_emails=["desk@gazette.example"], notify_webhooks=[])
    a, b, c, d, e, f = (images[name] for name in "ABCDEF")
    first = scoring_run(job, days_ago=1)
    b_v1 = judged(b, v1, "likely_ai", 0.95)
    submitted(
        first,
        seen("a", PAGE_1, judged(a, v1, "likely_real", 0.1)),
        seen("b", PAGE_1, b_v1),
        seen("c", PAGE_2, judged(c, v1, "inconclusive", 0.5)),
        seen("d", PAGE_2, judged(d, v1, "likely_ai", 0.9)),
        seen("b-copy", PAGE_2, b_v1),
        {"url": "https://cdn.example/gone.jpg", "page": PAGE_2, "error": "http_status"},
    )
    assert crawl_run_settle(run_id=first.pk)
    second = scoring_run(job)
    e_v2 = judged(e, v2, "likely_ai", 0.99)
    submitted(
        second,
        seen("a", PAGE_1, judged(a, v2, "likely_ai", 0.97)),
        seen("b", PAGE_1, b_v1),
        seen("e", PAGE_2, e_v2),
        seen("e", PAGE_1, e_v2),
        seen("f", PAGE_2, judged(f, v2, "likely_real", 0.02)),
    )
    return first, second


def sha(images: dict[str, Image], names: str) -> set[str]:
    return {images[name].sha256 for name in names}


def findings_of(run: CrawlRun, **filters: Any) -> set[str]:
    return set(run.findings.filter(**filters).values_list("image_id", flat=True))


def test_the_first_report_has_every_image_as_new(
    two_runs: tuple[CrawlRun, CrawlRun], images: dict[str, Image]
) -> None:
    first = CrawlRun.objects.get(pk=two_runs[0].pk)

    assert first.status == RunStatus.DONE and first.finished_at is not None
    assert findings_of(first) == findings_of(first, is_new=True) == sha(images, "ABCD")
    assert findings_of(first, band="likely_ai") == sha(images, "BD")
    assert (first.report_images, first.report_flagged, first.report_new) == (4, 2, 4)
    assert (first.report_changed, first.report_newly_flagged, first.report_pending) == (0, 2, 0)
    assert first.item_errors == {"http_status": 1}
    b = first.findings.get(image=images["B"])
    assert (b.url, b.page_urls) == ("https://cdn.example/b.jpg", [PAGE_1, PAGE_2])


def test_the_next_report_says_what_is_new_and_what_changed(
    two_runs: tuple[CrawlRun, CrawlRun], images: dict[str, Image]
) -> None:
    _, second = two_runs

    assert crawl_run_settle(run_id=second.pk)

    second.refresh_from_db()
    assert findings_of(second) == sha(images, "ABEF")
    assert findings_of(second, band="likely_ai") == sha(images, "ABE")
    assert findings_of(second, is_new=True) == sha(images, "EF")
    assert findings_of(second, changed=True) == sha(images, "A")
    assert findings_of(second, newly_flagged=True) == sha(images, "AE")
    a = second.findings.get(image=images["A"])
    assert (a.previous_band, a.band, a.verdict.model_version.version) == (
        "likely_real",
        "likely_ai",
        "2.0.0",
    )
    assert (second.report_flagged, second.report_new, second.report_changed) == (3, 2, 1)


def test_the_report_api_gives_sections_and_the_pages_with_most_flagged_images(
    two_runs: tuple[CrawlRun, CrawlRun], images: dict[str, Image], newsroom_api: APIClient
) -> None:
    _, second = two_runs
    crawl_run_settle(run_id=second.pk)

    report = newsroom_api.get(f"/api/v1/crawls/runs/{second.pk}/report").json()

    assert report["summary"] == {
        "images": 4,
        "flagged": 3,
        "new": 2,
        "newly_flagged": 2,
        "changed": 1,
        "pending": 0,
        "item_errors": {},
    }
    assert [f["image_sha256"] for f in report["flagged"]] == [
        images[name].sha256
        for name in "EAB"  # most likely AI first
    ]
    assert {f["image_sha256"] for f in report["new"]} == sha(images, "EF")
    [changed] = report["changed"]
    assert (
        changed
        | {
            "image_sha256": images["A"].sha256,
            "band": "likely_ai",
            "previous_band": "likely_real",
            "model_version": "verity-ensemble-2.0.0",
            "previous_model_version": "verity-ensemble-1.0.0",
            "is_new": False,
            "newly_flagged": True,
        }
        == changed
    )
    assert report["top_pages"] == [
        {"page_url": PAGE_1, "flagged_images": 3},
        {"page_url": PAGE_2, "flagged_images": 1},
    ]
    assert report["run"]["report_url"].endswith(f"/api/v1/crawls/runs/{second.pk}/report")


def test_the_images_of_a_report_come_page_by_page_and_by_section(
    two_runs: tuple[CrawlRun, CrawlRun], images: dict[str, Image], newsroom_api: APIClient
) -> None:
    _, second = two_runs
    crawl_run_settle(run_id=second.pk)
    url = f"/api/v1/crawls/runs/{second.pk}/images"

    page = newsroom_api.get(url, {"page_size": 3}).json()
    newly = newsroom_api.get(url, {"section": "newly_flagged"}).json()

    assert page["count"] == 4 and len(page["results"]) == 3 and page["next"]
    assert {f["image_sha256"] for f in newly["results"]} == sha(images, "AE")
    assert newsroom_api.get(url, {"section": "everything"}).status_code == 400


def test_the_csv_export_has_a_row_per_image_and_page(
    two_runs: tuple[CrawlRun, CrawlRun], images: dict[str, Image], newsroom_api: APIClient
) -> None:
    _, second = two_runs
    crawl_run_settle(run_id=second.pk)

    response = newsroom_api.get(f"/api/v1/crawls/runs/{second.pk}/report.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"crawl-run-{second.pk}.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 5  # E is on two pages
    e_rows = [row for row in rows if row["image_sha256"] == images["E"].sha256]
    assert {row["page_url"] for row in e_rows} == {PAGE_1, PAGE_2}
    assert (
        e_rows[0]
        | {
            "band": "likely_ai",
            "probability_ai": "0.9900",
            "new_since_previous_run": "yes",
            "newly_flagged": "yes",
            "band_changed": "no",
            "image_url": "https://cdn.example/e.jpg",
        }
        == e_rows[0]
    )


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(
    make_job: Callable[..., CrawlJob], versions: tuple[ModelVersion, ...], newsroom_api: APIClient
) -> None:
    run = scoring_run(make_job())
    verdict = judged(ImageFactory(), versions[0], "likely_ai", 0.9)
    submitted(
        run, {"url": '=HYPERLINK("https://evil.example")', "page": "@SUM(1)", "verdict": verdict}
    )
    crawl_run_settle(run_id=run.pk)

    body = b"".join(newsroom_api.get(f"/api/v1/crawls/runs/{run.pk}/report.csv").streaming_content)

    row = next(csv.DictReader(io.StringIO(body.decode())))
    assert row["image_url"] == '\'=HYPERLINK("https://evil.example")'
    assert row["page_url"] == "'@SUM(1)"


def test_a_report_waits_for_verdicts_until_the_deadline_then_counts_what_is_missing(
    make_job: Callable[..., CrawlJob], versions: tuple[ModelVersion, ...]
) -> None:
    run = scoring_run(make_job())
    scored = judged(ImageFactory(), versions[0], "likely_real", 0.2)
    submitted(
        run,
        {"url": "https://cdn.example/done.jpg", "verdict": scored},
        {"url": "https://cdn.example/scoring.jpg", "status": "scoring", "image": ImageFactory()},
        {"url": "https://cdn.example/queued.jpg", "status": "queued"},
    )

    assert crawl_run_settle(run_id=run.pk) is False
    assert CrawlRun.objects.get(pk=run.pk).status == RunStatus.SCORING

    later = run.scoring_deadline + timedelta(seconds=1)
    assert crawl_run_settle(run_id=run.pk, now=later) is True
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert (run.report_images, run.report_pending) == (2, 2)
    assert run.findings.filter(band="").count() == 1


def test_a_report_is_written_once_whoever_settles_it(
    two_runs: tuple[CrawlRun, CrawlRun],
) -> None:
    _, second = two_runs

    assert crawl_run_settle(run_id=second.pk)
    assert crawl_run_settle(run_id=second.pk)

    assert second.findings.count() == 4


def test_checks_that_only_claim_the_runs_reference_are_not_in_its_report(
    make_job: Callable[..., CrawlJob], versions: tuple[ModelVersion, ...]
) -> None:
    run = scoring_run(make_job())
    stranger, _ = token_create(name="someone", scopes=["submit"])
    forged = Check.objects.create(token=stranger, source="api", reference=run.reference)
    CheckItem.objects.create(
        check_request=forged,
        index=0,
        url="https://evil.example/planted.jpg",
        status="done",
        verdict=judged(ImageFactory(), versions[0], "likely_ai", 0.99),
    )

    crawl_run_settle(run_id=run.pk)

    assert CrawlRun.objects.get(pk=run.pk).report_images == 0


def test_a_report_of_a_run_not_done_is_not_ready(
    make_job: Callable[..., CrawlJob], newsroom_api: APIClient
) -> None:
    run = scoring_run(make_job())

    response = newsroom_api.get(f"/api/v1/crawls/runs/{run.pk}/report")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "report_not_ready"
    assert newsroom_api.get(f"/api/v1/crawls/runs/{run.pk}/report.csv").status_code == 409


def test_newly_flagged_images_are_e_mailed_and_posted_once(
    two_runs: tuple[CrawlRun, CrawlRun],
    images: dict[str, Image],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, second = two_runs
    job = second.job
    job.notify_webhooks = ["https://hooks.gazette.example/verity"]
    job.save()
    mail.outbox.clear()
    broker().delete("io")

    with django_capture_on_commit_callbacks(execute=True):
        crawl_run_settle(run_id=second.pk)
        crawl_run_settle(run_id=second.pk)

    [message] = mail.outbox
    assert message.subject == "Verity: 2 images newly flagged as likely AI on Gazette front page"
    assert message.to == ["desk@gazette.example"]
    assert "https://cdn.example/e.jpg" in message.body and PAGE_2 in message.body
    [(task, (url, event, payload, secret))] = queued_tasks("io")
    assert task == "workers.notify_tasks.deliver_webhook_task"
    assert (url, event, secret) == (
        "https://hooks.gazette.example/verity",
        "crawl.flagged",
        job.webhook_secret,
    )
    assert payload["summary"]["newly_flagged"] == 2
    assert [item["image_sha256"] for item in payload["newly_flagged"]] == [
        images["E"].sha256,
        images["A"].sha256,
    ]
    assert payload["newly_flagged"][1]["previous_band"] == "likely_real"
    assert CrawlRun.objects.get(pk=second.pk).alerted_at is not None


def test_no_alert_when_nothing_is_newly_flagged(
    make_job: Callable[..., CrawlJob], versions: tuple[ModelVersion, ...]
) -> None:
    job = make_job(notify_emails=["desk@gazette.example"])
    flagged = judged(ImageFactory(), versions[0], "likely_ai", 0.9)
    for _ in range(2):
        run = scoring_run(job)
        submitted(run, {"url": "https://cdn.example/same.jpg", "verdict": flagged})
        mail.outbox.clear()
        crawl_run_settle(run_id=run.pk)

    assert mail.outbox == []  # the second run found it flagged as before
    assert CrawlRun.objects.get(pk=run.pk).report_flagged == 1
