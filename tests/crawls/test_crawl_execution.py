"""Executing a run for real: `python -m crawler run` in a subprocess crawls a site on 127.0.0.1
and submits to a live Django server; the run follows its feed, stops it when asked, and ends in
the state that says what happened. (No Celery workers here: the checks stay queued.)"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from apitokens.models import ApiToken
from crawls.models import CrawlJob, CrawlRun, RunStatus
from crawls.selectors import run_checks, run_items
from crawls.services.execution import crawl_run_execute, run_workdir
from crawls.services.jobs import crawl_job_create
from crawls.services.runs import crawl_run_cancel, crawl_run_start
from tests.crawls.conftest import QUICK
from tests.crawls.support import NewsSite, SlowSite, broker
from tests.factories import ModelVersionFactory
from tests.support import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def platform(crawl_settings: Any, live_server: Any) -> Iterator[Any]:
    """The live server takes the crawler's checks; the test owns the production version."""
    crawl_settings.VERITY_CRAWL_API_URL = live_server.url
    ModelVersionFactory(stage="production")
    yield crawl_settings
    broker().delete("io", "gpu")  # the checks queued work that no worker will do here


@pytest.fixture
def site(news_site: NewsSite) -> NewsSite:
    news_site.robots("User-agent: *\nDisallow: /private/\n")
    news_site.links = ["/politics.html", "/science.html", "/private/draft.html"]
    news_site.front_page('<img src="/img/masthead.jpg" alt="masthead">')
    news_site.page("/politics.html", ["/img/p1.jpg", "/img/p2.jpg", "/img/p3.jpg"])
    news_site.page("/science.html", ["/img/s1.jpg", "/img/s2.jpg", "/img/p1.jpg"])
    news_site.page("/private/draft.html", ["/img/secret.jpg"])
    return news_site


def job_for(url: str, **fields: Any) -> CrawlJob:
    values = {"name": "Gazette", "spider": "site", "start_urls": [url], **QUICK, **fields}
    return crawl_job_create(fields=values, owner=None)


def test_a_crawl_submits_what_it_finds_as_the_runs_checks_and_waits_for_verdicts(
    platform: Any, site: NewsSite
) -> None:
    run = crawl_run_start(job=job_for(site.url("/")), trigger="manual", enqueue=False)
    lines: list[dict[str, Any]] = []

    ended = crawl_run_execute(run_id=run.pk, settle_later=False, on_line=lines.append)

    assert ended is not None
    assert (ended.status, ended.exit_code, ended.finish_reason) == ("scoring", 0, "finished")
    assert ended.pages == 3  # the front page and two stories; robots.txt keeps the draft out
    assert ended.pages_skipped == {"robots_txt": 1}
    assert (ended.images_found, ended.images_submitted, ended.images_new) == (6, 6, 6)
    assert ended.scoring_deadline is not None and ended.crawl_finished_at is not None
    assert lines[-1]["final"] and lines[-1]["images_found"] == 6
    expected = {site.url(f"/img/{name}.jpg") for name in ("masthead", "p1", "p2", "p3", "s1", "s2")}
    assert set(run_items(run=ended).values_list("url", flat=True)) == expected
    assert {check.source for check in run_checks(run=ended)} == {"crawler"}
    token = ApiToken.objects.get(pk=ended.token_id)
    assert (token.kind, token.scopes, token.revoked_at is not None) == ("crawler", ["submit"], True)
    assert not run_workdir(ended).exists()
    assert crawl_run_execute(run_id=run.pk) is None  # a redelivered task finds nothing to do


def _execute_in_thread(run: CrawlRun) -> threading.Thread:
    def execute() -> None:
        try:
            crawl_run_execute(run_id=run.pk, settle_later=False)
        finally:
            connection.close()

    thread = threading.Thread(target=execute)
    thread.start()
    return thread


@pytest.fixture
def slow_site() -> Iterator[SlowSite]:
    site = SlowSite().start()
    yield site
    site.stop()


def test_cancelling_a_crawl_stops_its_crawler_gently(platform: Any, slow_site: SlowSite) -> None:
    run = crawl_run_start(job=job_for(slow_site.url, max_depth=0), trigger="manual", enqueue=False)
    crawling = _execute_in_thread(run)
    wait_for(
        lambda: CrawlRun.objects.get(pk=run.pk).pages >= 2, timeout=30, what="two pages crawled"
    )

    crawl_run_cancel(run=run)
    crawling.join(timeout=30)

    run.refresh_from_db()
    assert (run.status, run.exit_code, run.finish_reason) == ("cancelled", 5, "cancelled")
    assert run.finished_at is not None and run.images_submitted >= 2  # its last batch went in
    assert ApiToken.objects.get(pk=run.token_id).revoked_at is not None


def test_a_crawl_that_runs_out_of_time_is_stopped_and_reported(
    platform: Any, slow_site: SlowSite
) -> None:
    platform.VERITY_CRAWL_MAX_SECONDS = 3
    run = crawl_run_start(job=job_for(slow_site.url, max_depth=0), trigger="manual", enqueue=False)

    started = time.monotonic()
    ended = crawl_run_execute(run_id=run.pk, settle_later=False)

    assert ended is not None and time.monotonic() - started < 20
    assert (ended.status, ended.finish_reason) == ("scoring", "time_limit")
    assert ended.pages >= 1


def test_a_target_that_now_leads_inside_the_network_is_not_crawled(
    platform: Any, site: NewsSite
) -> None:
    job = job_for(site.url("/"))
    platform.VERITY_FETCH_ALLOW_NETWORKS = []  # as in production
    run = crawl_run_start(job=job, trigger="manual", enqueue=False)

    ended = crawl_run_execute(run_id=run.pk, settle_later=False)

    assert ended is not None and ended.status == "failed"
    assert "127.0.0.1 is a loopback address" in ended.error
    assert ended.token_id is None  # no crawler was started


def test_a_job_the_crawler_refuses_fails_with_its_log(platform: Any, site: NewsSite) -> None:
    broken = CrawlJob.objects.create(name="No pages", spider="pages", page_urls=[])
    run = crawl_run_start(job=broken, trigger="manual", enqueue=False)

    ended = crawl_run_execute(run_id=run.pk, settle_later=False)

    assert ended is not None
    assert (ended.status, ended.exit_code) == ("failed", 2)
    assert ended.error == "The crawler refused the job; see the log."
    assert "the pages spider needs page_urls" in ended.log_tail
    assert (run_workdir(ended) / "job.json").is_file()  # kept to see what went wrong


def test_the_crawl_command_shows_progress_then_the_report(
    platform: Any, site: NewsSite, make_job: Callable[..., CrawlJob]
) -> None:
    platform.VERITY_CRAWL_SCORING_TIMEOUT_SECONDS = 0  # no workers: report what is missing
    job = job_for(site.url("/"), name="Gazette front page")
    out = io.StringIO()

    call_command("crawl", "Gazette front page", stdout=out)

    text = out.getvalue()
    run = CrawlRun.objects.get(job=job)
    assert (run.trigger, run.status, run.report_pending) == ("command", RunStatus.DONE, 6)
    assert f"run {run.pk}: crawling Gazette front page (site spider)" in text
    assert "pages 3 " in text and "images 6 found, 6 submitted" in text
    assert "crawl ended: finished" in text
    assert f"run {run.pk}: done" in text and "6 without a verdict" in text
