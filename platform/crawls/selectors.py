"""Reading crawl jobs, runs and reports: who may see what, live progress, the report's sections."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django.db.models import Count, Q, QuerySet

from apitokens.models import ApiToken
from crawls.models import ACTIVE_RUN_STATUSES, CrawlFinding, CrawlJob, CrawlRun, RunStatus
from detections.models import Band, Check, CheckItem
from verity.errors import ApplicationError

TOP_PAGES = 10


def jobs_visible_to(*, token: ApiToken) -> QuerySet[CrawlJob]:
    """A token sees its owner's jobs; a token without an owner sees the jobs it created."""
    if token.owner_id is not None:
        return CrawlJob.objects.filter(owner_id=token.owner_id)
    return CrawlJob.objects.filter(owner__isnull=True, created_by_token=token)


def job_get(*, token: ApiToken, job_id: int) -> CrawlJob:
    job = jobs_visible_to(token=token).select_related("periodic_task").filter(pk=job_id).first()
    if job is None:
        raise ApplicationError("not_found", "No crawl job with this id.", status_code=404)
    return job


def runs_visible_to(
    *, token: ApiToken, job_id: int | None = None, status: str | None = None
) -> QuerySet[CrawlRun]:
    runs = CrawlRun.objects.select_related("job").filter(job__in=jobs_visible_to(token=token))
    if job_id is not None:
        runs = runs.filter(job_id=job_id)
    if status is not None:
        runs = runs.filter(status=status)
    return runs.order_by("-created_at", "-id")


def run_get(*, token: ApiToken, run_id: uuid.UUID | str) -> CrawlRun:
    run = runs_visible_to(token=token).filter(pk=run_id).first()
    if run is None:
        raise ApplicationError("not_found", "No crawl run with this id.", status_code=404)
    return run


def active_run(*, job: CrawlJob) -> CrawlRun | None:
    return job.runs.filter(status__in=ACTIVE_RUN_STATUSES).first()


def run_checks(*, run: CrawlRun) -> QuerySet[Check]:
    """The checks the run's crawler created: its reference, sent with its own token (anyone may
    write a reference, so the token is what proves a check belongs to the run)."""
    if run.token_id is None:
        return Check.objects.none()
    return Check.objects.filter(reference=run.reference, token_id=run.token_id)


def run_items(*, run: CrawlRun) -> QuerySet[CheckItem]:
    return CheckItem.objects.filter(check_request__in=run_checks(run=run))


def run_scoring_progress(*, run: CrawlRun) -> dict[str, int]:
    """How far the platform has got judging what the run submitted."""
    counts = run_items(run=run).aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(status="done")),
        failed=Count("id", filter=Q(status="failed")),
    )
    counts["pending"] = counts["total"] - counts["done"] - counts["failed"]
    return counts


def report_ready(*, run: CrawlRun) -> None:
    if run.status != RunStatus.DONE:
        raise ApplicationError(
            "report_not_ready",
            f"The run is {run.status}: its report is made when it is done.",
            status_code=409,
            detail={"status": run.status},
        )


SECTIONS = ("flagged", "new", "newly_flagged", "changed", "pending")


def report_findings(*, run: CrawlRun, section: str | None = None) -> QuerySet[CrawlFinding]:
    """The run's images, most likely AI first; `section` narrows them to one part of the report."""
    findings = run.findings.select_related(
        "verdict__model_version", "previous_verdict__model_version"
    )
    findings = findings.order_by("-probability_ai", "id")
    filters: dict[str | None, Q] = {
        None: Q(),
        "flagged": Q(band=Band.LIKELY_AI),
        "new": Q(is_new=True),
        "newly_flagged": Q(newly_flagged=True),
        "changed": Q(changed=True),
        "pending": Q(band=""),
    }
    return findings.filter(filters[section])


def report_top_pages(*, run: CrawlRun, limit: int = TOP_PAGES) -> list[dict[str, Any]]:
    """The pages with the most images flagged likely AI, most first."""
    per_page: Counter[str] = Counter()
    for page_urls in run.findings.filter(band=Band.LIKELY_AI).values_list("page_urls", flat=True):
        per_page.update(set(page_urls))
    ranked = sorted(per_page.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]
    return [{"page_url": page, "flagged_images": count} for page, count in ranked]


def report_summary(*, run: CrawlRun) -> dict[str, Any]:
    return {
        "images": run.report_images,
        "flagged": run.report_flagged,
        "new": run.report_new,
        "newly_flagged": run.report_newly_flagged,
        "changed": run.report_changed,
        "pending": run.report_pending,
        "item_errors": run.item_errors,
    }
