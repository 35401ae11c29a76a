"""/api/v1/crawls/jobs: newsrooms create, read, change and delete their crawl jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from apitokens.services import token_create
from crawls.models import CrawlJob, CrawlRun, RunStatus
from tests.crawls.conftest import client_for

pytestmark = pytest.mark.django_db

JOB = {
    "name": "Gazette front page",
    "spider": "site",
    "start_urls": ["https://gazette.example/"],
    "max_pages": 200,
    "max_depth": 2,
    "download_delay": 1.0,
    "schedule": {"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"},
    "notify_emails": ["desk@gazette.example"],
    "notify_webhooks": ["https://hooks.gazette.example/verity"],
}


def error_of(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def test_a_newsroom_creates_a_scheduled_job_and_reads_it_back(newsroom_api: APIClient) -> None:
    created = newsroom_api.post("/api/v1/crawls/jobs", JOB, format="json")

    assert created.status_code == 201, created.json()
    job = created.json()
    assert (
        job
        | {
            "name": "Gazette front page",
            "spider": "site",
            "start_urls": ["https://gazette.example/"],
            "max_pages": 200,
            "max_depth": 2,
            "obey_robots": True,
            "concurrency_per_domain": 1,
            "download_delay": 1.0,
            "autothrottle": True,
            "schedule": {"cron": "0 6 * * 1-5", "every_minutes": None, "timezone": "Europe/Berlin"},
            "notify_emails": ["desk@gazette.example"],
            "enabled": True,
            "last_run": None,
        }
        == job
    )
    assert len(job["webhook_secret"]) >= 40
    assert newsroom_api.get(f"/api/v1/crawls/jobs/{job['id']}").json() == job
    listed = newsroom_api.get("/api/v1/crawls/jobs").json()
    assert listed["count"] == 1 and listed["results"] == [job]


def test_each_job_signs_its_webhooks_with_its_own_secret(newsroom_api: APIClient) -> None:
    first = newsroom_api.post("/api/v1/crawls/jobs", JOB, format="json").json()
    second = newsroom_api.post("/api/v1/crawls/jobs", {**JOB, "name": "Other"}, format="json")

    assert first["webhook_secret"] != second.json()["webhook_secret"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"start_urls": []}, "the site spider needs start_urls"),
        ({"spider": "pages", "page_urls": ["ftp://gazette.example/x"]}, "not an http(s) URL"),
        (
            {"start_urls": ["http://10.1.2.3/"]},
            "http://10.1.2.3/: The link cannot be fetched: 10.1.2.3 is a private",
        ),
        (
            {"start_urls": ["http://localhost:8000/admin/"]},
            "'localhost' resolves to 127.0.0.1, which is a loopback",
        ),
        (
            {"allowed_domains": ["169.254.169.254"]},
            "allowed domain 169.254.169.254: The link cannot be fetched",
        ),
        (
            {"notify_webhooks": ["http://192.168.0.10/hook"]},
            "webhook http://192.168.0.10/hook: The link cannot",
        ),
        ({"schedule": {"cron": "0 25 * * *"}}, "cron '0 25 * * *' is not valid"),
        ({"schedule": {"cron": "every day"}}, "cron needs 5 fields"),
        ({"schedule": {"every_minutes": 5}}, "a job runs at most every 15 minutes"),
        ({"schedule": {"cron": "0 6 * * *", "timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"max_pages": 10**6}, "max_pages must be at most 20000"),
    ],
)
def test_a_job_that_cannot_run_is_refused_with_every_reason(
    newsroom_api: APIClient, change: dict[str, Any], problem: str
) -> None:
    response = newsroom_api.post("/api/v1/crawls/jobs", {**JOB, **change}, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_job"
    assert any(problem in text for text in error["detail"]["problems"]), error
    assert not CrawlJob.objects.exists()


def test_shapes_are_checked_before_anything_else(newsroom_api: APIClient) -> None:
    response = newsroom_api.post(
        "/api/v1/crawls/jobs",
        {**JOB, "spider": "everything", "concurrency_per_domain": 100, "notify_emails": ["x"]},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"
    assert set(error_of(response)["detail"]["fields"]) == {
        "spider",
        "concurrency_per_domain",
        "notify_emails",
    }


def test_patch_changes_only_what_it_names(newsroom_api: APIClient) -> None:
    job = newsroom_api.post("/api/v1/crawls/jobs", JOB, format="json").json()

    changed = newsroom_api.patch(
        f"/api/v1/crawls/jobs/{job['id']}", {"max_pages": 50, "enabled": False}, format="json"
    )

    assert changed.status_code == 200
    assert changed.json() == job | {
        "max_pages": 50,
        "enabled": False,
        "updated_at": changed.json()["updated_at"],
    }


def test_tokens_see_only_their_newsrooms_jobs(
    newsroom_api: APIClient, newsroom: Any, client_with: Callable[..., APIClient]
) -> None:
    job = newsroom_api.post("/api/v1/crawls/jobs", JOB, format="json").json()
    _, colleague_key = token_create(name="colleague", scopes=["read"], owner=newsroom)
    rival = get_user_model().objects.create_user("rival")
    _, rival_key = token_create(name="rival", scopes=["submit", "read"], owner=rival)
    ownerless = client_with("submit", "read")

    assert client_for(colleague_key).get(f"/api/v1/crawls/jobs/{job['id']}").status_code == 200
    for stranger in (client_for(rival_key), ownerless):
        assert stranger.get(f"/api/v1/crawls/jobs/{job['id']}").status_code == 404
        assert stranger.get("/api/v1/crawls/jobs").json()["count"] == 0
        patched = stranger.patch(f"/api/v1/crawls/jobs/{job['id']}", {"name": "x"}, format="json")
        assert patched.status_code == 404
    own = ownerless.post("/api/v1/crawls/jobs", JOB, format="json").json()
    assert [j["id"] for j in ownerless.get("/api/v1/crawls/jobs").json()["results"]] == [own["id"]]


def test_only_api_tokens_with_submit_may_change_crawls(
    newsroom_api: APIClient, client_with: Callable[..., APIClient]
) -> None:
    job = newsroom_api.post("/api/v1/crawls/jobs", JOB, format="json").json()
    reader = client_with("read")
    crawler = client_with("submit", kind="crawler")
    extension = client_with("submit", kind="extension")

    assert reader.get("/api/v1/crawls/jobs").status_code == 200
    assert error_of(reader.post("/api/v1/crawls/jobs", JOB, format="json"))["code"] == (
        "permission_denied"
    )
    for token_of_another_kind in (crawler, extension):
        assert token_of_another_kind.post("/api/v1/crawls/jobs", JOB).status_code == 403
        assert token_of_another_kind.get("/api/v1/crawls/jobs").status_code == 403
    assert APIClient().get("/api/v1/crawls/jobs").status_code == 401
    assert newsroom_api.get(f"/api/v1/crawls/jobs/{job['id']}").status_code == 200


def test_deleting_a_job_removes_its_schedule_but_not_while_it_runs(
    newsroom_api: APIClient,
) -> None:
    job = newsroom_api.post("/api/v1/crawls/jobs", JOB, format="json").json()
    run = CrawlRun.objects.create(job_id=job["id"], trigger="manual", status=RunStatus.CRAWLING)

    refused = newsroom_api.delete(f"/api/v1/crawls/jobs/{job['id']}")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "run_in_progress"
    assert error_of(refused)["detail"] == {"run": str(run.pk)}

    CrawlRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE)
    assert newsroom_api.delete(f"/api/v1/crawls/jobs/{job['id']}").status_code == 204
    assert not CrawlJob.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="Crawl job").exists()
