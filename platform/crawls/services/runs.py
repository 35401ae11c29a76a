"""Starting, cancelling and sweeping crawl runs (the crawl itself: `crawls.services.execution`).

A job has at most one active run (a database constraint), so a schedule that fires while the
last run is still going skips instead of crawling the site twice at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apitokens.models import ApiToken
from apitokens.services import token_revoke
from crawls.models import CrawlJob, CrawlRun, RunStatus, RunTrigger
from crawls.selectors import active_run
from crawls.services.reports import crawl_run_settle
from verity.errors import ApplicationError

logger = logging.getLogger(__name__)

EXECUTE_TASK = "workers.crawl_tasks.execute_crawl_run_task"
CRAWL_QUEUE = "crawl"


def crawl_run_start(*, job: CrawlJob, trigger: str, enqueue: bool = True) -> CrawlRun:
    """Queue a run of the job on the crawl queue (or, with `enqueue=False`, leave it queued for
    the caller to execute, as `manage.py crawl` does)."""
    try:
        with transaction.atomic():
            run = CrawlRun.objects.create(job=job, trigger=trigger)
    except IntegrityError:
        running = active_run(job=job)
        raise ApplicationError(
            "run_in_progress",
            "This job is already running; wait for that run to end or cancel it.",
            status_code=409,
            detail={"run": str(running.pk) if running else None},
        ) from None
    if enqueue:
        transaction.on_commit(lambda: _send_execute(run))
    return run


def _send_execute(run: CrawlRun) -> None:
    from workers.celery import app

    app.send_task(EXECUTE_TASK, args=[str(run.pk)], queue=CRAWL_QUEUE)


def scheduled_crawl_start(*, job_id: int) -> CrawlRun | None:
    """What celery beat starts: a run, unless the job is gone, disabled or still running."""
    job = CrawlJob.objects.filter(pk=job_id).first()
    if job is None or not job.enabled:
        logger.info("scheduled crawl of job %s skipped: no such enabled job", job_id)
        return None
    try:
        return crawl_run_start(job=job, trigger=RunTrigger.SCHEDULED)
    except ApplicationError as error:
        if error.code != "run_in_progress":
            raise
        logger.warning("scheduled crawl of %s skipped: its previous run is still going", job)
        return None


def crawl_run_cancel(*, run: CrawlRun) -> CrawlRun:
    """Cancel a run: at once if it waits (in the queue or for verdicts); a crawl in progress is
    asked to stop (SIGTERM: it submits its last batch and ends within the grace period)."""
    now = timezone.now()
    waiting = CrawlRun.objects.filter(pk=run.pk, status__in=(RunStatus.QUEUED, RunStatus.SCORING))
    if not waiting.update(status=RunStatus.CANCELLED, cancel_requested_at=now, finished_at=now):
        CrawlRun.objects.filter(
            pk=run.pk, status=RunStatus.CRAWLING, cancel_requested_at__isnull=True
        ).update(cancel_requested_at=now)
    run.refresh_from_db()
    if run.cancel_requested_at is None:
        raise ApplicationError(
            "run_finished",
            f"The run has already ended ({run.status}).",
            status_code=409,
            detail={"status": run.status},
        )
    return run


@dataclass(frozen=True)
class SweepResult:
    abandoned: int  # crawling, but its worker stopped writing progress
    never_started: int  # queued for longer than any crawl worker would leave it
    settled: int  # waiting for verdicts, and now done


def crawl_runs_sweep() -> SweepResult:
    """End what a dead worker or a lost message left behind: no run stays active for ever."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.VERITY_CRAWL_STALE_SECONDS)
    abandoned = sum(
        _end_abandoned(run)
        for run in CrawlRun.objects.filter(status=RunStatus.CRAWLING, heartbeat_at__lt=stale)
    )
    too_old = now - timedelta(seconds=settings.VERITY_CRAWL_START_TIMEOUT_SECONDS)
    never_started = sum(
        crawl_run_end(
            run=run,
            expected_status=RunStatus.QUEUED,
            error="No crawl worker started this run in time: is one consuming the crawl queue?",
        )
        for run in CrawlRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=too_old)
    )
    scoring = CrawlRun.objects.filter(status=RunStatus.SCORING).values_list("pk", flat=True)
    settled = sum(crawl_run_settle(run_id=run_id) for run_id in list(scoring))
    return SweepResult(abandoned=abandoned, never_started=never_started, settled=settled)


def _end_abandoned(run: CrawlRun) -> bool:
    if run.cancel_requested_at is not None:  # what the person asked for, if late
        return crawl_run_end(run=run, expected_status=RunStatus.CRAWLING, cancelled=True)
    return crawl_run_end(
        run=run,
        expected_status=RunStatus.CRAWLING,
        error="The worker running this crawl stopped reporting progress; it was abandoned.",
    )


def crawl_run_end(
    *, run: CrawlRun, expected_status: str, error: str = "", cancelled: bool = False
) -> bool:
    """Fail (or cancel) the run if it is still in `expected_status`; its crawler token stops
    working, so an orphaned crawler (its worker was killed) is refused from now on and stops."""
    status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
    ended = CrawlRun.objects.filter(pk=run.pk, status=expected_status).update(
        status=status, error=error, finished_at=timezone.now()
    )
    if ended and run.token_id is not None:
        token_revoke(token=ApiToken.objects.get(pk=run.token_id))
    if ended:
        logger.warning("crawl run %s ended %s: %s", run.pk, status, error or "as asked")
    return bool(ended)
