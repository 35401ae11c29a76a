"""Crawl jobs (what to crawl, how politely, when, and whom to tell), their runs (one per
execution, with live progress), and each run's report rows (one per image it found).

The crawler never writes here: it submits what it finds to the check API with the run's own
token and `reference`, and the run reads its checks back to build the report.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_celery_beat.models import PeriodicTask

from apitokens.models import ApiToken
from detections.models import Band, Image, Verdict

REFERENCE_PREFIX = "crawl-run:"


class Spider(models.TextChoices):
    SITE = "site", "Site: follow links from start URLs"
    SITEMAP = "sitemap", "Sitemap: pages listed in XML (news) sitemaps"
    PAGES = "pages", "Pages: an explicit list of page URLs"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class CrawlJob(models.Model):
    """A site to crawl, repeatedly: the same job's runs are compared with one another."""

    name = models.CharField(max_length=120)
    spider = models.CharField(max_length=16, choices=Spider.choices, default=Spider.SITE)
    start_urls = models.JSONField(default=list, blank=True, help_text="Site spider: start here.")
    sitemap_urls = models.JSONField(
        default=list, blank=True, help_text="Sitemap spider: sitemaps, indexes or robots.txt."
    )
    page_urls = models.JSONField(default=list, blank=True, help_text="Pages spider: read these.")
    allowed_domains = models.JSONField(
        default=list, blank=True, help_text="Stay within these (default: the given URLs' hosts)."
    )
    max_pages = models.PositiveIntegerField(default=1000)
    max_depth = models.PositiveSmallIntegerField(
        default=3, help_text="Links followed from the start URLs (site spider; 0: no limit)."
    )
    obey_robots = models.BooleanField(default=True)
    concurrency_per_domain = models.PositiveSmallIntegerField(default=1)
    download_delay = models.FloatField(default=0.5, help_text="Seconds between requests.")
    autothrottle = models.BooleanField(default=True, help_text="Slow down when the site does.")
    retry_times = models.PositiveSmallIntegerField(default=2)
    # The schedule is kept here and mirrored into `periodic_task` (celery beat reads that one).
    schedule_cron = models.CharField(
        max_length=100, blank=True, help_text='Cron: "minute hour day month weekday".'
    )
    schedule_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    schedule_timezone = models.CharField(max_length=63, default="UTC")
    periodic_task = models.OneToOneField(
        PeriodicTask, null=True, blank=True, editable=False, on_delete=models.SET_NULL
    )
    notify_emails = models.JSONField(default=list, blank=True)
    notify_webhooks = models.JSONField(default=list, blank=True)
    # Each job signs its webhooks with its own secret, so one newsroom cannot forge another's.
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    enabled = models.BooleanField(default=True, help_text="Scheduled runs happen only if set.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_by_token = models.ForeignKey(
        ApiToken, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule_cron="") | Q(schedule_every_minutes__isnull=True),
                name="crawl_job_one_schedule_kind",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_scheduled(self) -> bool:
        return bool(self.schedule_cron) or self.schedule_every_minutes is not None


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    CRAWLING = "crawling", "Crawling"
    SCORING = "scoring", "Waiting for verdicts"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.CRAWLING, RunStatus.SCORING)


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Started over the API or in the admin"
    SCHEDULED = "scheduled", "Started by the schedule"
    COMMAND = "command", "Started with manage.py crawl"


class CrawlRun(models.Model):
    """One execution of a job: queued -> crawling -> scoring -> done (or failed, cancelled)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(CrawlJob, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # The crawler submits with this token, made for the run and revoked when the crawl ends; the
    # run's checks are the ones this token created with the run's reference.
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    crawl_finished_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written with the progress while crawling: a stale heartbeat means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    scoring_deadline = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Live progress, from the crawler's feed (see crawler/progress.py).
    pages = models.PositiveIntegerField(default=0)
    pages_per_second = models.FloatField(default=0.0)
    elapsed_seconds = models.FloatField(default=0.0)
    images_found = models.PositiveIntegerField(default=0)
    images_submitted = models.PositiveIntegerField(default=0)
    images_known = models.PositiveIntegerField(
        default=0, help_text="Submitted images the platform had already judged."
    )
    images_new = models.PositiveIntegerField(
        default=0, help_text="Submitted images the platform queued for judging."
    )
    dropped = models.JSONField(default=dict, blank=True, help_text="{reason: images}")
    errors = models.JSONField(default=dict, blank=True, help_text="{kind: count}")
    pages_skipped = models.JSONField(default=dict, blank=True, help_text="{reason: pages}")
    # How the crawl ended.
    exit_code = models.SmallIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True, help_text="Why the run failed, for people.")
    log_tail = models.TextField(blank=True)
    # The report's totals (its rows are CrawlFinding).
    report_images = models.PositiveIntegerField(default=0)
    report_flagged = models.PositiveIntegerField(default=0)
    report_new = models.PositiveIntegerField(
        default=0, help_text="Images no earlier run of the job had found."
    )
    report_newly_flagged = models.PositiveIntegerField(default=0)
    report_changed = models.PositiveIntegerField(default=0)
    report_pending = models.PositiveIntegerField(
        default=0, help_text="Images without a verdict when the report was made."
    )
    item_errors = models.JSONField(
        default=dict, blank=True, help_text="{error code: images that could not be checked}"
    )
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(status__in=ACTIVE_RUN_STATUSES),
                name="one_active_run_per_job",
            )
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="crawl_run_liveness")]

    def __str__(self) -> str:
        return f"{self.job} run {str(self.id)[:8]} ({self.status})"

    @property
    def reference(self) -> str:
        """What the crawler stores on every check it creates for this run."""
        return f"{REFERENCE_PREFIX}{self.id}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CrawlFinding(models.Model):
    """One image a run found, with its verdict and how it compares with the job's earlier runs."""

    run = models.ForeignKey(CrawlRun, on_delete=models.CASCADE, related_name="findings")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    verdict = models.ForeignKey(
        Verdict, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    band = models.CharField(
        max_length=16, choices=Band.choices, blank=True, help_text="Empty: no verdict yet."
    )
    probability_ai = models.FloatField(null=True, blank=True)
    url = models.TextField(help_text="Where the image was found first in this run.")
    page_url = models.TextField(blank=True)
    page_urls = models.JSONField(default=list, blank=True, help_text="Every page it was on.")
    is_new = models.BooleanField(help_text="No earlier run of the job found this image.")
    previous_verdict = models.ForeignKey(
        Verdict, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_band = models.CharField(
        max_length=16, blank=True, help_text="The band the job's previous report gave it."
    )
    changed = models.BooleanField(default=False, help_text="Its band differs from previously.")
    newly_flagged = models.BooleanField(default=False, help_text="Likely AI now, and not before.")

    class Meta:
        ordering = ("run", "-probability_ai", "id")
        constraints = [
            models.UniqueConstraint(fields=["run", "image"], name="one_finding_per_image_and_run")
        ]
        indexes = [models.Index(fields=["run", "band"], name="finding_run_band")]

    def __str__(self) -> str:
        return f"{self.image_id[:12]} in {self.run_id}: {self.band or 'pending'}"
