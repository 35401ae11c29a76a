"""Creating, changing and deleting crawl jobs; what a job asks of the crawler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from apitokens.models import ApiToken
from crawler.job import JobError, job_from_mapping
from crawls.guard import blocked_domains, blocked_urls
from crawls.models import CrawlJob
from crawls.selectors import active_run
from crawls.services.schedules import job_schedule_sync, schedule_problems
from verity.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What a newsroom may set on a job (the rest is the platform's: owner, secret, schedule link).
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "spider",
        "start_urls",
        "sitemap_urls",
        "page_urls",
        "allowed_domains",
        "max_pages",
        "max_depth",
        "obey_robots",
        "concurrency_per_domain",
        "download_delay",
        "autothrottle",
        "retry_times",
        "schedule_cron",
        "schedule_every_minutes",
        "schedule_timezone",
        "notify_emails",
        "notify_webhooks",
        "enabled",
    }
)


def crawl_job_create(
    *,
    fields: Mapping[str, Any],
    owner: User | None,
    created_by_token: ApiToken | None = None,
) -> CrawlJob:
    job = CrawlJob(owner=owner, created_by_token=created_by_token)
    return _apply_and_save(job, fields)


def crawl_job_update(*, job: CrawlJob, fields: Mapping[str, Any]) -> CrawlJob:
    return _apply_and_save(job, fields)


def crawl_job_delete(*, job: CrawlJob) -> None:
    """Delete a job, its runs and reports, and its schedule; refused while a run is active."""
    running = active_run(job=job)
    if running is not None:
        raise ApplicationError(
            "run_in_progress",
            "This job has a run in progress; cancel it before deleting the job.",
            status_code=409,
            detail={"run": str(running.pk)},
        )
    with transaction.atomic():
        if job.periodic_task is not None:
            job.periodic_task.delete()
        job.delete()


def _apply_and_save(job: CrawlJob, fields: Mapping[str, Any]) -> CrawlJob:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(job, name, value)
    return crawl_job_save(job=job)


def crawl_job_save(*, job: CrawlJob) -> CrawlJob:
    """Validate and save the job as it stands, and bring its beat schedule in step."""
    crawl_job_validate(job)
    with transaction.atomic():
        job.save()
        job_schedule_sync(job=job)
    return job


def crawl_job_validate(job: CrawlJob) -> None:
    """Raise `invalid_job` with every problem at once, in words a newsroom understands."""
    problems = job_problems(job)
    if problems:
        raise ApplicationError(
            "invalid_job",
            "The crawl job cannot run as described: " + "; ".join(problems) + ".",
            detail={"problems": problems},
        )


def job_problems(job: CrawlJob) -> list[str]:
    problems = []
    try:
        job_from_mapping(crawler_job_spec(job))  # the crawler's own rules, so they never drift
    except JobError as error:
        problems.append(str(error))
    if job.max_pages > settings.VERITY_CRAWL_MAX_PAGES:
        problems.append(f"max_pages must be at most {settings.VERITY_CRAWL_MAX_PAGES}")
    problems += schedule_problems(job)
    problems += target_problems(job)
    problems += _webhook_problems(job)
    return problems


def target_problems(job: CrawlJob) -> list[str]:
    """Seed URLs and allowed domains that lead inside the network (checked at every save and
    again at every launch, since a host name may resolve elsewhere by then)."""
    seeds = [*job.start_urls, *job.sitemap_urls, *job.page_urls]
    return blocked_urls(seeds) + blocked_domains(job.allowed_domains)


def _webhook_problems(job: CrawlJob) -> list[str]:
    return [f"webhook {problem}" for problem in blocked_urls(job.notify_webhooks)]


def crawler_job_spec(job: CrawlJob, *, reference: str = "", api_url: str | None = None) -> dict:
    """The job file for `python -m crawler run` (see crawler.job.CrawlJob)."""
    return {
        "spider": job.spider,
        "start_urls": list(job.start_urls),
        "sitemap_urls": list(job.sitemap_urls),
        "page_urls": list(job.page_urls),
        "allowed_domains": list(job.allowed_domains),
        "max_pages": job.max_pages,
        "max_depth": job.max_depth,
        "obey_robots": job.obey_robots,
        "concurrency_per_domain": job.concurrency_per_domain,
        "download_delay": job.download_delay,
        "autothrottle": job.autothrottle,
        "retry_times": job.retry_times,
        "contact_url": settings.VERITY_CRAWL_CONTACT_URL,
        "exempt_networks": list(settings.VERITY_FETCH_ALLOW_NETWORKS),
        "api_url": api_url,
        "reference": reference,
    }
