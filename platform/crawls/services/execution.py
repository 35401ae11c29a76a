"""Executing one crawl run: claim it, give the crawler a token of its own, follow its progress
feed into the run (live), stop it when asked, and hand what it submitted over to scoring.

Runs in the crawl worker (`workers.crawl_tasks.execute_crawl_run_task`) or in the foreground
(`manage.py crawl`). Every step is a conditional update, so a redelivered task finds the run
claimed and does nothing, and a run that the sweep failed meanwhile is not brought back.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from apitokens.models import Scope, TokenKind
from apitokens.services import token_create, token_revoke
from crawls.models import CrawlRun, RunStatus
from crawls.process import CrawlOutcome, CrawlProcess
from crawls.progress import run_fields
from crawls.services.jobs import crawler_job_spec, target_problems
from crawls.services.reports import schedule_settle
from crawls.services.runs import crawl_run_end

logger = logging.getLogger(__name__)

# Progress reaches the database at most this often, and at least this often as a heartbeat.
WRITE_INTERVAL_SECONDS = 1.0
HEARTBEAT_SECONDS = 10.0

# What the crawler's exit code (crawler.runner.ExitCode) means for the run.
EXIT_FINISHED, EXIT_SUBMISSION_FAILED, EXIT_CANCELLED = 0, 3, 5
FAILURES = {
    1: "The crawler stopped with an unexpected error; see the log.",
    2: "The crawler refused the job; see the log.",
    4: "The check API refused the crawl's token.",
}

LineCallback = Callable[[dict[str, Any]], None]


def crawl_run_execute(
    *, run_id: uuid.UUID | str, settle_later: bool = True, on_line: LineCallback | None = None
) -> CrawlRun | None:
    """Crawl, blocking until the crawler has ended; None if the run was not waiting to start.

    `settle_later` queues the task that writes the report once the verdicts are in; without it
    the caller settles (see `crawl_run_settle`). `on_line` sees every progress line."""
    run = _claim(run_id)
    if run is None:
        return None
    problems = target_problems(run.job)
    if problems:
        crawl_run_end(run=run, expected_status=RunStatus.CRAWLING, error="; ".join(problems))
        return _fresh(run)
    try:
        outcome = _crawl(run, on_line)
    except Exception as error:  # the run must end whatever went wrong, with the reason kept
        logger.exception("crawl run %s could not run", run.pk)
        crawl_run_end(
            run=run,
            expected_status=RunStatus.CRAWLING,
            error=f"The crawl could not run: {type(error).__name__}: {error}",
        )
        return _fresh(run)
    _end_crawl(run, outcome)
    ended = _fresh(run)
    if settle_later and ended.status == RunStatus.SCORING:
        schedule_settle(ended)
    return ended


def run_workdir(run: CrawlRun) -> Path:
    return Path(settings.VERITY_CRAWL_DIR) / str(run.pk)


def _claim(run_id: uuid.UUID | str) -> CrawlRun | None:
    now = timezone.now()
    claimed = CrawlRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.CRAWLING,
        started_at=now,
        heartbeat_at=now,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
    return CrawlRun.objects.select_related("job").get(pk=run_id) if claimed else None


def _fresh(run: CrawlRun) -> CrawlRun:
    return CrawlRun.objects.select_related("job").get(pk=run.pk)


def _crawl(run: CrawlRun, on_line: LineCallback | None) -> CrawlOutcome:
    # A token for this run alone: the crawler is the only holder of its key, and once the
    # crawl ends (or the sweep gives up on it) the key is worthless.
    token, key = token_create(
        name=f"crawl run {run.pk}",
        scopes=[Scope.SUBMIT],
        kind=TokenKind.CRAWLER,
        owner=run.job.owner,
    )
    CrawlRun.objects.filter(pk=run.pk).update(token=token)
    run.token = token
    spec = crawler_job_spec(
        run.job, reference=run.reference, api_url=settings.VERITY_CRAWL_API_URL.rstrip("/")
    )
    process = CrawlProcess(
        workdir=run_workdir(run),
        job=spec,
        token=key,
        cwd=settings.REPO_ROOT,
        grace_seconds=settings.VERITY_CRAWL_CANCEL_GRACE_SECONDS,
    )
    try:
        return process.run(LiveProgress(run, on_line))
    finally:
        token_revoke(token=token)


class LiveProgress:
    """Copies the feed onto the run (throttled) and asks the database whether to stop."""

    def __init__(self, run: CrawlRun, on_line: LineCallback | None = None) -> None:
        self.run = run
        self._on_line = on_line
        self._latest: dict[str, Any] | None = None
        self._dirty = False
        self._written_at = time.monotonic()
        self._checked_at = 0.0
        self._deadline = time.monotonic() + settings.VERITY_CRAWL_MAX_SECONDS
        self._gone = False

    def progress(self, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            if self._on_line is not None:
                self._on_line(line)
        if lines:
            self._latest, self._dirty = lines[-1], True
        since = time.monotonic() - self._written_at
        final = bool(lines) and bool(lines[-1].get("final"))
        if (self._dirty and (since >= WRITE_INTERVAL_SECONDS or final)) or (
            since >= HEARTBEAT_SECONDS
        ):
            self._write()

    def stop_reason(self) -> str | None:
        if self._gone:
            return "abandoned"  # the sweep failed the run, or it was deleted
        if time.monotonic() > self._deadline:
            return "time_limit"
        if time.monotonic() - self._checked_at < WRITE_INTERVAL_SECONDS:
            return None
        self._checked_at = time.monotonic()
        asked = CrawlRun.objects.filter(pk=self.run.pk, cancel_requested_at__isnull=False)
        return "cancelled" if asked.exists() else None

    def _write(self) -> None:
        fields = run_fields(self._latest) if self._latest is not None else {}
        updated = CrawlRun.objects.filter(pk=self.run.pk, status=RunStatus.CRAWLING).update(
            heartbeat_at=timezone.now(), **fields
        )
        self._gone = updated == 0
        self._dirty = False
        self._written_at = time.monotonic()


def _end_crawl(run: CrawlRun, outcome: CrawlOutcome) -> None:
    """Record how the crawl ended; what it submitted goes on to scoring unless it failed or a
    person cancelled it."""
    cancel_asked = CrawlRun.objects.filter(pk=run.pk, cancel_requested_at__isnull=False).exists()
    status, error = _status_after(outcome, cancel_asked)
    now = timezone.now()
    final = outcome.final_line or {}
    fields: dict[str, Any] = {
        "status": status,
        "error": error,
        "exit_code": outcome.exit_code,
        "finish_reason": outcome.stopped_because or str(final.get("finish_reason", "")),
        "log_tail": outcome.log_tail,
        "crawl_finished_at": now,
        **(run_fields(final) if final else {}),
    }
    if status == RunStatus.SCORING:
        timeout = timedelta(seconds=settings.VERITY_CRAWL_SCORING_TIMEOUT_SECONDS)
        fields["scoring_deadline"] = now + timeout
    else:
        fields["finished_at"] = now
    CrawlRun.objects.filter(pk=run.pk, status=RunStatus.CRAWLING).update(**fields)
    if status != RunStatus.FAILED:
        shutil.rmtree(run_workdir(run), ignore_errors=True)  # kept for inspection on failure


def _status_after(outcome: CrawlOutcome, cancel_asked: bool) -> tuple[str, str]:
    """(status, error) for a crawl that ended this way."""
    stopped = outcome.stopped_because
    if stopped in {"cancelled", "interrupted"} or cancel_asked:
        return RunStatus.CANCELLED, ""
    if stopped == "time_limit":
        return RunStatus.SCORING, ""  # what it found until then is worth a report
    if stopped == "abandoned":
        return RunStatus.FAILED, "The run was ended while its crawl was still going."
    if outcome.exit_code in {EXIT_FINISHED, EXIT_SUBMISSION_FAILED}:
        return RunStatus.SCORING, ""
    if outcome.exit_code == EXIT_CANCELLED:  # someone else sent SIGTERM (e.g. a shutdown)
        return RunStatus.FAILED, "The crawler was stopped from outside the platform."
    reason = FAILURES.get(outcome.exit_code, f"The crawler was killed ({outcome.exit_code}).")
    return RunStatus.FAILED, reason
