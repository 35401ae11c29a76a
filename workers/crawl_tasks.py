"""Site crawls. The crawl itself holds a slot on the ``crawl`` queue for as long as its crawler
process runs; the short bookkeeping around it (starting scheduled runs, writing reports once the
verdicts are in, the sweep) is sent to ``io``, so a busy or dead crawl worker never delays it.

Run ``celery -A workers worker -Q crawl --pool threads --concurrency 2``: each slot only waits on
a child process, so threads are enough.
"""

from __future__ import annotations

import dataclasses

from celery import shared_task
from celery.app.task import Task

from crawls.services.execution import crawl_run_execute
from crawls.services.reports import crawl_run_settle
from crawls.services.runs import crawl_runs_sweep, scheduled_crawl_start

SETTLE_POLL_SECONDS = 3


@shared_task(acks_late=True)
def execute_crawl_run_task(run_id: str) -> str | None:
    """Crawl; a redelivered message finds the run already claimed and does nothing."""
    run = crawl_run_execute(run_id=run_id)
    return run.status if run is not None else None


@shared_task(bind=True, acks_late=True, max_retries=None)
def settle_crawl_run_task(self: Task, run_id: str) -> bool:
    """Write the report once the run's verdicts are in (polling until then, within the run's
    scoring deadline; the sweep settles any run whose message was lost)."""
    if crawl_run_settle(run_id=run_id):
        return True
    raise self.retry(countdown=SETTLE_POLL_SECONDS)


@shared_task(acks_late=True)
def start_scheduled_crawl_task(job_id: int) -> str | None:
    """What celery beat sends for a scheduled job (see crawls.services.schedules)."""
    run = scheduled_crawl_start(job_id=job_id)
    return str(run.pk) if run is not None else None


@shared_task(acks_late=True)
def sweep_crawl_runs_task() -> dict[str, int]:
    return dataclasses.asdict(crawl_runs_sweep())
