"""Runs one crawl job in this process and says how it ended, as an exit code.

Scrapy's reactor cannot be restarted inside one process, so every crawl gets its own process:
the platform's Celery task spawns `python -m crawler run ...` (see `crawler.cli`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from crawler import stats
from crawler.job import CrawlJob
from crawler.progress import ProgressFile, progress_line, public_finish_reason

logger = logging.getLogger(__name__)

VERSION = "0.1"


class ExitCode(enum.IntEnum):
    """What the process exit status tells the platform (the final progress line says more)."""

    OK = 0  # finished, or stopped at the page cap; every batch was submitted
    CRASHED = 1  # an unexpected error; the crawl may not have run at all
    USAGE = 2  # the job or the command line is wrong; nothing was crawled
    SUBMISSION_FAILED = 3  # the crawl ended, but some batches were refused or never got through
    API_UNAUTHORIZED = 4  # the check API refused our token; the crawl was stopped
    CANCELLED = 5  # stopped by SIGTERM/SIGINT; the last batch and the final line were written


def user_agent(contact_url: str) -> str:
    return f"Verity/{VERSION} (+{contact_url})"


def job_settings(
    job: CrawlJob,
    *,
    progress_file: Path | None = None,
    output: Path | None = None,
    log_level: str = "INFO",
) -> dict[str, Any]:
    """The Scrapy settings one job lays over the project's defaults in `crawler.settings`."""
    settings: dict[str, Any] = {
        "ROBOTSTXT_OBEY": job.obey_robots,
        "USER_AGENT": user_agent(job.contact_url),
        "CONCURRENT_REQUESTS": max(job.concurrent_requests, job.concurrency_per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": job.concurrency_per_domain,
        "DOWNLOAD_DELAY": job.download_delay,
        "AUTOTHROTTLE_ENABLED": job.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(1.0, job.download_delay),
        "RETRY_ENABLED": job.retry_times > 0,
        "RETRY_TIMES": job.retry_times,
        "VERITY_RETRY_BACKOFF": job.retry_backoff,
        "VERITY_EXEMPT_NETWORKS": list(job.exempt_networks),
        # Depth is counted in links followed; sitemap chains (robots.txt, index, sitemap) and
        # page lists have no links to count, and must not lose pages to the cap.
        "DEPTH_LIMIT": job.max_depth if job.spider == "site" else 0,
        "VERITY_API_URL": job.api_url,
        "VERITY_REFERENCE": job.reference,
        "VERITY_BATCH_SIZE": job.batch_size,
        "VERITY_API_RETRIES": job.api_retries,
        "VERITY_API_BACKOFF": job.api_backoff,
        "VERITY_PROGRESS_FILE": str(progress_file) if progress_file else None,
        "LOG_LEVEL": log_level,
    }
    if output is not None:
        settings["FEEDS"] = {output.resolve().as_uri(): {"format": "jsonlines", "overwrite": True}}
    return settings


def run_crawl(
    job: CrawlJob,
    *,
    progress_file: Path | None = None,
    output: Path | None = None,
    log_level: str = "INFO",
) -> ExitCode:
    """Crawl until the job is done, capped or cancelled; blocks, and can run once per process."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides = job_settings(job, progress_file=progress_file, output=output, log_level=log_level)
    settings.setdict(overrides, priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(job.spider)
    process.crawl(crawler, job=job)
    process.start()  # returns when the crawl has ended; SIGTERM ends it gracefully
    assert crawler.stats is not None
    counters = crawler.stats.get_stats()
    scrapy_reason = counters.get("finish_reason")
    if scrapy_reason is None:
        # The spider never opened (the crawl failed while starting), so the feed has no final
        # line yet: write one, so the platform always learns how the run ended.
        _write_final_line(progress_file, counters, "error")
        return ExitCode.CRASHED
    return exit_code(public_finish_reason(scrapy_reason), counters)


def exit_code(finish_reason: str, counters: Mapping[str, Any]) -> ExitCode:
    if finish_reason == "cancelled":
        return ExitCode.CANCELLED
    if finish_reason == "api_unauthorized":
        return ExitCode.API_UNAUTHORIZED
    if finish_reason not in {"finished", "page_limit"}:
        return ExitCode.CRASHED
    errors = stats.counts_under(counters, stats.ERRORS)
    if errors.get("submit_failed") or errors.get("api_rejected"):
        return ExitCode.SUBMISSION_FAILED
    return ExitCode.OK


def _write_final_line(path: Path | None, counters: Mapping[str, Any], reason: str) -> None:
    if path is None:
        return
    feed = ProgressFile(path)
    feed.write(
        progress_line(
            counters, elapsed=0.0, pages_per_second=0.0, check_ids=[], finish_reason=reason
        )
    )
    feed.close()
