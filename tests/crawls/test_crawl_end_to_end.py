"""A scheduled crawl job end to end, on PostgreSQL and Redis with real workers (io, gpu, crawl):
beat's message starts a run -> the crawler (a subprocess of the crawl worker) submits what it
finds to the live API -> io fetches, gpu judges with the shipped model -> the run's report ->
a signed webhook to a receiver on 127.0.0.1. Then the site changes, and the next run reports
exactly the images that are new.

The model's verdicts on the test photos are whatever it says: the report must agree with the
verdicts stored. So that an alert is sure to fire, one image per run was already judged likely
AI (by the production version, from an earlier check) and is answered from history."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from crawls.models import CrawlJob, CrawlRun, RunStatus
from detections.models import Image, Sighting, Verdict, url_digest
from tests.crawls.conftest import QUICK
from tests.crawls.support import NewsSite, WebhookReceiver, broker
from tests.support import WorkerProcess, photo_like_jpeg, wait_for
from training.artefacts import ArtefactMissing, default_artefact_path
from training.models import ModelVersion
from training.selectors import production_model_version
from workers.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT = 150


@pytest.fixture(scope="module")
def shipped_model() -> None:
    try:
        default_artefact_path()
    except ArtefactMissing as missing:
        pytest.skip(f"needs the shipped model: {missing}")


@pytest.fixture(scope="module")
def workers(
    shipped_model: None,
    django_db_setup: None,
    live_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """io, gpu and crawl workers on the test database and broker; the crawl worker's crawlers
    submit to the live server. Started side by side (each takes seconds to import)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the crawl end-to-end test needs PostgreSQL: run it with `make test`")
    folder = tmp_path_factory.mktemp("crawl-e2e")
    host = database.get("HOST") or "127.0.0.1"
    env = {
        "DATABASE_URL": f"postgres://{database['USER']}@{host}:{database.get('PORT') or 5432}"
        f"/{database['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VERITY_CACHE_URL": os.environ.get("VERITY_CACHE_URL", ""),
        "VERITY_MEDIA_ROOT": str(folder / "media"),
        "VERITY_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "VERITY_MODEL_RELOAD_CHECK_SECONDS": "0",
        "VERITY_CRAWL_API_URL": live_server.url,
        "VERITY_CRAWL_DIR": str(folder / "crawls"),
        "PYTHONUNBUFFERED": "1",
    }
    broker().delete("io", "gpu", "crawl")
    pools = {"io": ("threads", 4), "gpu": ("solo", 1), "crawl": ("threads", 2)}
    started = [
        WorkerProcess(queue, env, folder / f"worker-{queue}.log", pool, concurrency)
        for queue, (pool, concurrency) in pools.items()
    ]
    threads = [threading.Thread(target=worker.start) for worker in started]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    yield folder
    for worker in started:
        worker.stop()


@pytest.fixture
def site(news_site: NewsSite) -> NewsSite:
    news_site.robots("User-agent: *\nDisallow: /private/\n")
    return news_site


def already_judged_likely_ai(site: NewsSite, path: str, seed: int) -> str:
    """An image an earlier check had judged likely AI, with the production version: a crawl
    that finds it at this URL is answered from history."""
    data = photo_like_jpeg(seed)
    site.server.add(path, data)
    sha256 = hashlib.sha256(data).hexdigest()
    image = Image.objects.create(
        sha256=sha256, phash="0" * 16, width=320, height=240, format="JPEG", byte_size=len(data)
    )
    url = site.url(path)
    Sighting.objects.create(
        image=image,
        url=url,
        url_hash=url_digest(url),
        page_url_hash=url_digest(""),
        source="api",
        last_seen_at=timezone.now(),
        last_fetched_at=timezone.now(),
    )
    Verdict.objects.create(
        image=image,
        model_version=production_model_version(),
        probability_ai=0.98,
        band="likely_ai",
        model_scores={"cnn": 0.98},
    )
    return sha256


def run_as_beat_would(job: CrawlJob) -> None:
    """Send the job's PeriodicTask exactly as celery beat does when it is due."""
    task = PeriodicTask.objects.get(pk=job.periodic_task_id)
    app.send_task(task.task, args=json.loads(task.args), queue=task.queue)


def ended_run(job: CrawlJob, after: int = 0) -> CrawlRun:
    def done() -> bool:
        runs = CrawlRun.objects.filter(job=job).order_by("created_at")[after:]
        return any(not run.is_active for run in runs)

    wait_for(done, timeout=RUN_TIMEOUT, what="the crawl run to end", interval=0.5)
    run = CrawlRun.objects.filter(job=job).order_by("created_at")[after]
    assert run.status == RunStatus.DONE, (run.status, run.error, run.log_tail[-2000:])
    return run


def flagged_by_the_model(run: CrawlRun) -> set[str]:
    """The run's images whose stored verdict (production version) says likely AI."""
    images = run.findings.values_list("image_id", flat=True)
    version: ModelVersion = production_model_version()
    verdicts = Verdict.objects.filter(image_id__in=list(images), model_version=version)
    return set(verdicts.filter(band="likely_ai").values_list("image_id", flat=True))


def top_pages(on_page: dict[str, set[str]], flagged: set[str]) -> list[dict[str, Any]]:
    counts = {page: len(images & flagged) for page, images in on_page.items()}
    ranked = sorted((-count, page) for page, count in counts.items() if count)
    return [{"page_url": page, "flagged_images": -count} for count, page in ranked]


def findings(run: CrawlRun, **filters: Any) -> set[str]:
    return set(run.findings.filter(**filters).values_list("image_id", flat=True))


def test_a_scheduled_crawl_goes_from_the_site_to_a_report_and_a_signed_alert(
    workers: Path,
    local_networks: None,
    site: NewsSite,
    newsroom_api: APIClient,
    webhook_receiver: Callable[[str], WebhookReceiver],
) -> None:
    photos = {path: site.photo(path, seed) for seed, path in enumerate(
        ["/img/lead.jpg", "/img/market.jpg", "/img/street.jpg", "/img/portrait.jpg"]
    )}  # fmt: skip
    known_ai = already_judged_likely_ai(site, "/img/too-perfect.jpg", seed=50)
    site.page("/markets.html", ["/img/market.jpg", "/img/street.jpg", "/img/too-perfect.jpg"])
    site.page("/people.html", ["/img/portrait.jpg", "/img/lead.jpg", "/img/missing.jpg"])
    site.page("/private/embargoed.html", ["/img/embargoed.jpg"])
    site.links = ["/markets.html", "/people.html", "/private/embargoed.html"]
    site.front_page('<img src="/img/lead.jpg" alt="lead">')
    receiver = webhook_receiver("")
    created = newsroom_api.post(
        "/api/v1/crawls/jobs",
        {
            "name": "Gazette",
            "spider": "site",
            "start_urls": [site.url("/")],
            "schedule": {"every_minutes": 60},
            "notify_webhooks": [receiver.url],
            **QUICK,
        },
        format="json",
    ).json()
    receiver.secret = created["webhook_secret"]
    job = CrawlJob.objects.get(pk=created["id"])

    run_as_beat_would(job)
    first = ended_run(job)

    assert first.trigger == "scheduled"
    assert first.pages == 3  # the front page and two stories; robots.txt keeps one out
    site_images = {*photos.values(), known_ai}
    assert findings(first) == findings(first, is_new=True) == site_images
    assert first.item_errors == {"http_status": 1}  # /img/missing.jpg is a broken link
    flagged = flagged_by_the_model(first)
    assert known_ai in flagged
    assert findings(first, band="likely_ai") == findings(first, newly_flagged=True) == flagged
    verdicts = Verdict.objects.filter(image_id__in=list(photos.values()))
    assert verdicts.count() == 4, "the gpu worker judged every photo with the shipped model"
    report = newsroom_api.get(f"/api/v1/crawls/runs/{first.pk}/report").json()
    on_page = {
        site.url("/"): {photos["/img/lead.jpg"]},
        site.url("/markets.html"): {photos["/img/market.jpg"], photos["/img/street.jpg"], known_ai},
        site.url("/people.html"): {photos["/img/portrait.jpg"], photos["/img/lead.jpg"]},
    }
    assert report["top_pages"] == top_pages(on_page, flagged)
    wait_for(lambda: len(receiver.deliveries) == 1, timeout=30, what="the alert webhook")
    [alert] = receiver.deliveries
    assert alert.signature_valid, "signed with the job's secret"
    assert alert.event == "crawl.flagged"
    assert {item["image_sha256"] for item in alert.payload["newly_flagged"]} == flagged
    assert alert.payload["run"]["id"] == str(first.pk)

    # The site changes: a new story, a new lead photo, and the old lead photo is gone.
    fresh = {path: site.photo(path, seed) for seed, path in enumerate(
        ["/img/new-lead.jpg", "/img/flood.jpg", "/img/rescue.jpg"], start=10
    )}  # fmt: skip
    known_ai_2 = already_judged_likely_ai(site, "/img/flawless.jpg", seed=51)
    site.page("/weather.html", ["/img/flood.jpg", "/img/rescue.jpg", "/img/flawless.jpg"])
    site.page("/people.html", ["/img/portrait.jpg", "/img/new-lead.jpg"])
    site.links = ["/markets.html", "/people.html", "/weather.html"]
    site.front_page('<img src="/img/new-lead.jpg" alt="lead">')

    started = newsroom_api.post(f"/api/v1/crawls/jobs/{job.pk}/runs")
    assert started.status_code == 202
    second = ended_run(job, after=1)

    new_images = {*fresh.values(), known_ai_2}
    assert findings(second, is_new=True) == new_images
    assert photos["/img/lead.jpg"] not in findings(second)
    assert findings(second) == new_images | site_images - {photos["/img/lead.jpg"]}
    newly = flagged_by_the_model(second) & new_images
    assert findings(second, newly_flagged=True) == newly and known_ai_2 in newly
    assert findings(second, changed=True) == set()  # the same model version judged both runs
    wait_for(lambda: len(receiver.deliveries) == 2, timeout=30, what="the second alert")
    second_alert = receiver.deliveries[1]
    assert second_alert.signature_valid
    assert {item["image_sha256"] for item in second_alert.payload["newly_flagged"]} == newly
