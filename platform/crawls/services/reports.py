"""Turning a crawl's checks into its report, once their verdicts are in (or time is up).

One row per image the run found: its verdict, whether an earlier run of the job had found it,
and whether its band changed since the job last reported it (a newer model version judged it
differently). Written once, when the run ends, so a report never changes afterwards.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from crawls.models import CrawlFinding, CrawlRun, RunStatus
from crawls.selectors import run_items
from crawls.services.alerts import crawl_run_alert
from detections.models import TERMINAL_ITEM_STATUSES, Band, ItemStatus, Verdict

logger = logging.getLogger(__name__)

SETTLE_TASK = "workers.crawl_tasks.settle_crawl_run_task"
# Bookkeeping, not crawling: the io queue does it even while every crawl slot is busy.
SETTLE_QUEUE = "io"
MAX_PAGES_PER_FINDING = 50


def crawl_run_settle(*, run_id: uuid.UUID | str, now: datetime | None = None) -> bool:
    """End a run that waits for verdicts when they are all in or its deadline has passed:
    write its report, mark it done, alert. Returns False while it should wait longer."""
    run = CrawlRun.objects.select_related("job").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.SCORING:
        return True
    now = now or timezone.now()
    pending = run_items(run=run).exclude(status__in=TERMINAL_ITEM_STATUSES).exists()
    if pending and run.scoring_deadline is not None and now < run.scoring_deadline:
        return False
    with transaction.atomic():
        # The row lock makes a second settle (a redelivered task, the sweep) wait, then find
        # the run done: a report is written once.
        if not CrawlRun.objects.select_for_update().filter(pk=run.pk, status=RunStatus.SCORING):
            return True
        totals = _write_report(run)
        CrawlRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, finished_at=now, **totals)
    logger.info("crawl run %s done: %s", run.pk, totals)
    crawl_run_alert(run_id=run.pk)
    return True


def schedule_settle(run: CrawlRun) -> None:
    """Ask the io queue to settle the run (the task polls until it is done)."""
    from workers.celery import app

    transaction.on_commit(
        lambda: app.send_task(SETTLE_TASK, args=[str(run.pk)], queue=SETTLE_QUEUE)
    )


@dataclass
class _Sighted:
    """What the run's items say about one image."""

    url: str
    pages: list[str] = field(default_factory=list)
    verdict_ids: set[int] = field(default_factory=set)
    waiting: bool = False  # an item of it is still being fetched or scored


def _write_report(run: CrawlRun) -> dict[str, object]:
    images, errors, imageless_pending = _read_items(run)
    verdicts = _newest_verdicts(images)
    previous = _previous_findings(run, list(images))
    findings = [
        _finding(run, image_id, sighted, verdicts.get(image_id), previous.get(image_id))
        for image_id, sighted in images.items()
        if image_id in verdicts or sighted.waiting
    ]
    CrawlFinding.objects.bulk_create(findings, batch_size=500)
    return {
        "report_images": len(findings),
        "report_flagged": sum(f.band == Band.LIKELY_AI for f in findings),
        "report_new": sum(f.is_new for f in findings),
        "report_newly_flagged": sum(f.newly_flagged for f in findings),
        "report_changed": sum(f.changed for f in findings),
        "report_pending": sum(not f.band for f in findings) + imageless_pending,
        "item_errors": dict(errors),
    }


def _read_items(run: CrawlRun) -> tuple[dict[str, _Sighted], Counter[str], int]:
    images: dict[str, _Sighted] = {}
    errors: Counter[str] = Counter()
    imageless_pending = 0
    rows = run_items(run=run).order_by("check_request__created_at", "index")
    for url, page_url, image_id, verdict_id, status, error_code in rows.values_list(
        "url", "page_url", "image_id", "verdict_id", "status", "error_code"
    ):
        if status == ItemStatus.FAILED:
            errors[error_code or "failed"] += 1
            continue
        if image_id is None:
            imageless_pending += status != ItemStatus.DONE
            continue
        sighted = images.setdefault(image_id, _Sighted(url=url))
        if page_url and page_url not in sighted.pages:
            sighted.pages.append(page_url)
        if verdict_id is not None:
            sighted.verdict_ids.add(verdict_id)
        sighted.waiting |= status not in TERMINAL_ITEM_STATUSES
    return images, errors, imageless_pending


def _newest_verdicts(images: dict[str, _Sighted]) -> dict[str, Verdict]:
    """Per image, the newest verdict its items got (a promotion mid-run may give two)."""
    ids = {verdict_id for sighted in images.values() for verdict_id in sighted.verdict_ids}
    newest: dict[str, Verdict] = {}
    for verdict in Verdict.objects.filter(pk__in=ids).order_by("created_at", "id"):
        newest[verdict.image_id] = verdict
    return newest


def _previous_findings(run: CrawlRun, image_ids: list[str]) -> dict[str, CrawlFinding]:
    """Per image, the finding of the job's latest earlier report that had it."""
    earlier = (
        CrawlFinding.objects.filter(
            run__job_id=run.job_id, run__created_at__lt=run.created_at, image_id__in=image_ids
        )
        .select_related("verdict")
        .order_by("image_id", "-run__created_at")
    )
    latest: dict[str, CrawlFinding] = {}
    for finding in earlier:
        latest.setdefault(finding.image_id, finding)
    return latest


def _finding(
    run: CrawlRun,
    image_id: str,
    sighted: _Sighted,
    verdict: Verdict | None,
    previous: CrawlFinding | None,
) -> CrawlFinding:
    band = verdict.band if verdict is not None else ""
    previous_band = previous.band if previous is not None else ""
    return CrawlFinding(
        run=run,
        image_id=image_id,
        verdict=verdict,
        band=band,
        probability_ai=verdict.probability_ai if verdict is not None else None,
        url=sighted.url,
        page_url=sighted.pages[0] if sighted.pages else "",
        page_urls=sighted.pages[:MAX_PAGES_PER_FINDING],
        is_new=previous is None,
        previous_verdict=previous.verdict if previous is not None else None,
        previous_band=previous_band,
        changed=bool(band and previous_band and band != previous_band),
        newly_flagged=band == Band.LIKELY_AI and previous_band != Band.LIKELY_AI,
    )
