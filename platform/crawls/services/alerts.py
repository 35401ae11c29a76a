"""Telling a job's targets when a run finds images newly flagged as likely AI-generated.

Once per run at most: the run is marked alerted before anything is sent, so a second settle
(or a redelivered task) never alerts twice. Webhooks are signed with the job's own secret and
go through the queue, retried; e-mail goes through Django's mail backend.
"""

from __future__ import annotations

import logging
import uuid
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from crawls.models import CrawlFinding, CrawlRun, RunStatus
from detections.serializers import history_url
from notifications.services import notify

logger = logging.getLogger(__name__)

ALERT_EVENT = "crawl.flagged"
MAX_LISTED = 100  # images named in one alert; the report has them all


def crawl_run_alert(*, run_id: uuid.UUID | str) -> bool:
    """Alert the job's targets about the run's newly flagged images; True if an alert went."""
    run = CrawlRun.objects.select_related("job").get(pk=run_id)
    job = run.job
    if run.report_newly_flagged == 0 or not (job.notify_emails or job.notify_webhooks):
        return False
    claimed = CrawlRun.objects.filter(
        pk=run.pk, status=RunStatus.DONE, alerted_at__isnull=True
    ).update(alerted_at=timezone.now())
    if not claimed:
        return False
    newly_flagged = list(
        run.findings.filter(newly_flagged=True)
        .select_related("verdict__model_version")
        .order_by("-probability_ai", "id")[:MAX_LISTED]
    )
    try:
        notify(
            subject=_subject(run),
            text=_text(run, newly_flagged),
            event=ALERT_EVENT,
            payload=alert_payload(run, newly_flagged),
            emails=job.notify_emails,
            webhooks=job.notify_webhooks,
            secret=job.webhook_secret,
        )
    except (SMTPException, OSError) as error:  # the run is done all the same; say why
        logger.exception("crawl run %s: alert e-mail failed", run.pk)
        CrawlRun.objects.filter(pk=run.pk).update(
            error=Concat(F("error"), Value(f"The alert e-mail could not be sent: {error}"))
        )
    return True


def report_url(run: CrawlRun) -> str:
    return f"{settings.VERITY_PUBLIC_URL.rstrip('/')}/api/v1/crawls/runs/{run.pk}/report"


def _subject(run: CrawlRun) -> str:
    count = run.report_newly_flagged
    images = "image" if count == 1 else "images"
    return f"Verity: {count} {images} newly flagged as likely AI on {run.job.name}"


def _text(run: CrawlRun, newly_flagged: list[CrawlFinding]) -> str:
    lines = [
        f"The crawl of {run.job.name} ({run.pages} pages) found {run.report_newly_flagged} "
        "image(s) that Verity now judges likely AI-generated:",
        "",
    ]
    for finding in newly_flagged:
        chance = f"{finding.probability_ai:.0%}" if finding.probability_ai is not None else "?"
        lines.append(f"- {chance} likely AI: {finding.url}")
        if finding.page_url:
            lines.append(f"  on {finding.page_url}")
    if run.report_newly_flagged > len(newly_flagged):
        lines.append(f"... and {run.report_newly_flagged - len(newly_flagged)} more.")
    lines += ["", f"The whole report: {report_url(run)}"]
    return "\n".join(lines)


def alert_payload(run: CrawlRun, newly_flagged: list[CrawlFinding]) -> dict[str, Any]:
    return {
        "event": ALERT_EVENT,
        "job": {"id": run.job_id, "name": run.job.name},
        "run": {
            "id": str(run.pk),
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "pages": run.pages,
            "report_url": report_url(run),
        },
        "summary": {
            "images": run.report_images,
            "flagged": run.report_flagged,
            "new": run.report_new,
            "newly_flagged": run.report_newly_flagged,
            "changed": run.report_changed,
        },
        "newly_flagged": [_listed(finding) for finding in newly_flagged],
    }


def _listed(finding: CrawlFinding) -> dict[str, Any]:
    verdict = finding.verdict
    return {
        "image_sha256": finding.image_id,
        "url": finding.url,
        "page_url": finding.page_url,
        "probability_ai": finding.probability_ai,
        "model_version": verdict.model_version.label if verdict is not None else None,
        "previous_band": finding.previous_band or None,
        "history_url": history_url(finding.image_id),
    }
