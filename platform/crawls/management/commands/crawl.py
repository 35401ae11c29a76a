"""`manage.py crawl JOB`: run a crawl job in the foreground with live progress, wait for its
verdicts and print the report's summary; `--queue` hands it to the crawl workers instead.

    manage.py crawl "Daily Gazette"          # by name, or by id
    manage.py crawl 3 --queue
    manage.py crawl 3 --no-wait              # end after the crawl; a worker writes the report

Ctrl-C stops the crawl gently (it submits its last batch) and cancels the run. Verdicts come
from the io and gpu workers, which must be running.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crawls.models import CrawlJob, CrawlRun, RunStatus, RunTrigger
from crawls.selectors import report_top_pages, run_scoring_progress
from crawls.services.execution import crawl_run_execute
from crawls.services.reports import crawl_run_settle
from crawls.services.runs import crawl_run_start
from verity.errors import ApplicationError

SETTLE_POLL_SECONDS = 2.0


class Command(BaseCommand):
    help = "Run a crawl job (by id or name) now, showing its progress, then its report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="the job's id or exact name")
        parser.add_argument(
            "--queue", action="store_true", help="queue the run for a crawl worker and return"
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="return when the crawl ends; a worker writes the report when verdicts are in",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = _find_job(options["job"])
        try:
            run = crawl_run_start(
                job=job,
                trigger=RunTrigger.MANUAL if options["queue"] else RunTrigger.COMMAND,
                enqueue=options["queue"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if options["queue"]:
            self.stdout.write(f"run {run.pk} queued for {job}")
            return
        self.stdout.write(f"run {run.pk}: crawling {job} ({job.spider} spider)")
        ended = crawl_run_execute(
            run_id=run.pk, settle_later=options["no_wait"], on_line=self._show
        )
        assert ended is not None  # the command created the run: nobody else can claim it
        if ended.status == RunStatus.SCORING and not options["no_wait"]:
            ended = self._wait_for_verdicts(ended)
        self._summarise(ended)
        if ended.status == RunStatus.FAILED:
            raise CommandError(ended.error or "the run failed")

    def _show(self, line: dict[str, Any]) -> None:
        text = (
            f"  {line.get('elapsed_seconds', 0):7.1f}s  pages {line.get('pages', 0)} "
            f"({line.get('pages_per_second', 0):.1f}/s)  images {line.get('images_found', 0)} "
            f"found, {line.get('images_submitted', 0)} submitted "
            f"({line.get('images_known', 0)} already judged)"
        )
        errors = line.get("errors") or {}
        if errors:
            text += "  errors " + ", ".join(f"{kind} {n}" for kind, n in sorted(errors.items()))
        self.stdout.write(text)
        if line.get("final"):
            self.stdout.write(f"  crawl ended: {line.get('finish_reason')}")

    def _wait_for_verdicts(self, run: CrawlRun) -> CrawlRun:
        self.stdout.write("waiting for verdicts (the io and gpu workers judge the images)")
        try:
            while not crawl_run_settle(run_id=run.pk):
                scoring = run_scoring_progress(run=run)
                self.stdout.write(
                    f"  {scoring['done'] + scoring['failed']} of {scoring['total']} judged"
                )
                time.sleep(SETTLE_POLL_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write("stopped waiting; the sweep writes the report when the time is up")
        return CrawlRun.objects.select_related("job").get(pk=run.pk)

    def _summarise(self, run: CrawlRun) -> None:
        self.stdout.write(f"run {run.pk}: {run.status}")
        if run.error:
            self.stdout.write(f"  {run.error}")
        if run.status != RunStatus.DONE:
            return
        self.stdout.write(
            f"  {run.pages} pages, {run.report_images} images: {run.report_flagged} likely AI "
            f"({run.report_newly_flagged} newly), {run.report_new} new since the previous run, "
            f"{run.report_changed} changed, {run.report_pending} without a verdict"
        )
        for page in report_top_pages(run=run, limit=5):
            self.stdout.write(f"  {page['flagged_images']} flagged on {page['page_url']}")


def _find_job(key: str) -> CrawlJob:
    if key.isdigit() and (by_id := CrawlJob.objects.filter(pk=int(key)).first()):
        return by_id
    named = list(CrawlJob.objects.filter(name=key)[:2])
    if len(named) > 1:
        raise CommandError(f"several crawl jobs are named {key!r}: give the id")
    if not named:
        raise CommandError(f"no crawl job with id or name {key!r}")
    return named[0]
