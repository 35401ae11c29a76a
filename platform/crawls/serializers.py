"""Output shapes of the crawl API (a run or a report row looks the same wherever it appears)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crawls.models import CrawlFinding, CrawlJob, CrawlRun, RunStatus
from crawls.selectors import run_checks, run_scoring_progress
from crawls.services.alerts import report_url
from detections.serializers import history_url


class ScheduleSerializer(serializers.Serializer):
    cron = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text='"minute hour day month weekday", e.g. "0 6 * * 1-5".',
    )
    every_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    timezone = serializers.CharField(max_length=63, required=False, default="UTC")


class RunBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class CrawlJobOutputSerializer(serializers.ModelSerializer):
    schedule = serializers.SerializerMethodField()
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = CrawlJob
        fields = (
            "id",
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
            "schedule",
            "notify_emails",
            "notify_webhooks",
            "webhook_secret",
            "enabled",
            "created_at",
            "updated_at",
            "last_run",
        )
        extra_kwargs = {
            "webhook_secret": {"help_text": "Webhooks carry X-Verity-Signature, signed with it."}
        }

    @extend_schema_field(ScheduleSerializer(allow_null=True))
    def get_schedule(self, job: CrawlJob) -> dict[str, Any] | None:
        if not job.is_scheduled:
            return None
        return {
            "cron": job.schedule_cron,
            "every_minutes": job.schedule_every_minutes,
            "timezone": job.schedule_timezone,
        }

    @extend_schema_field(RunBriefSerializer(allow_null=True))
    def get_last_run(self, job: CrawlJob) -> dict[str, Any] | None:
        run = job.runs.order_by("-created_at").first()
        return RunBriefSerializer(run).data if run is not None else None


class ProgressSerializer(serializers.Serializer):
    pages = serializers.IntegerField()
    pages_per_second = serializers.FloatField()
    elapsed_seconds = serializers.FloatField()
    images_found = serializers.IntegerField()
    images_submitted = serializers.IntegerField()
    images_known = serializers.IntegerField(help_text="Submitted images already judged before.")
    images_new = serializers.IntegerField(help_text="Submitted images queued for judging.")
    dropped = serializers.DictField(child=serializers.IntegerField())
    errors = serializers.DictField(child=serializers.IntegerField())  # type: ignore[assignment]  # a field, not Serializer.errors
    pages_skipped = serializers.DictField(child=serializers.IntegerField())


class JobBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReportSummarySerializer(serializers.Serializer):
    images = serializers.IntegerField(source="report_images")
    flagged = serializers.IntegerField(source="report_flagged")
    new = serializers.IntegerField(source="report_new", help_text="Not found by earlier runs.")
    newly_flagged = serializers.IntegerField(source="report_newly_flagged")
    changed = serializers.IntegerField(source="report_changed")
    pending = serializers.IntegerField(source="report_pending")
    item_errors = serializers.DictField(child=serializers.IntegerField())


class CrawlRunOutputSerializer(serializers.ModelSerializer):
    job = JobBriefSerializer()
    progress = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = CrawlRun
        fields: tuple[str, ...] = (
            "id",
            "job",
            "trigger",
            "status",
            "created_at",
            "started_at",
            "crawl_finished_at",
            "finished_at",
            "cancel_requested_at",
            "progress",
            "exit_code",
            "finish_reason",
            "error",
            "summary",
            "report_url",
        )

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, run: CrawlRun) -> dict[str, Any]:
        return ProgressSerializer(run).data

    @extend_schema_field(ReportSummarySerializer(allow_null=True))
    def get_summary(self, run: CrawlRun) -> dict[str, Any] | None:
        return ReportSummarySerializer(run).data if run.status == RunStatus.DONE else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_report_url(self, run: CrawlRun) -> str | None:
        return report_url(run) if run.status == RunStatus.DONE else None


class ScoringProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()


class CrawlRunDetailOutputSerializer(CrawlRunOutputSerializer):
    scoring = serializers.SerializerMethodField()
    check_ids = serializers.SerializerMethodField()

    class Meta(CrawlRunOutputSerializer.Meta):
        fields = (*CrawlRunOutputSerializer.Meta.fields, "scoring", "check_ids", "log_tail")

    @extend_schema_field(ScoringProgressSerializer)
    def get_scoring(self, run: CrawlRun) -> dict[str, int]:
        """How many of the submitted images have their verdict (live while it is scoring)."""
        return run_scoring_progress(run=run)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_check_ids(self, run: CrawlRun) -> list[str]:
        ids = run_checks(run=run).order_by("created_at").values_list("id", flat=True)
        return [str(check_id) for check_id in ids]


class FindingOutputSerializer(serializers.ModelSerializer):
    image_sha256 = serializers.CharField(source="image_id")
    band = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField()
    previous_band = serializers.SerializerMethodField()
    previous_model_version = serializers.SerializerMethodField()
    history_url = serializers.SerializerMethodField()

    class Meta:
        model = CrawlFinding
        fields = (
            "image_sha256",
            "url",
            "page_url",
            "page_urls",
            "band",
            "probability_ai",
            "model_version",
            "is_new",
            "previous_band",
            "previous_model_version",
            "changed",
            "newly_flagged",
            "history_url",
        )

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="null: no verdict yet"))
    def get_band(self, finding: CrawlFinding) -> str | None:
        return finding.band or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_model_version(self, finding: CrawlFinding) -> str | None:
        return finding.verdict.model_version.label if finding.verdict is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_previous_band(self, finding: CrawlFinding) -> str | None:
        return finding.previous_band or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_previous_model_version(self, finding: CrawlFinding) -> str | None:
        previous = finding.previous_verdict
        return previous.model_version.label if previous is not None else None

    def get_history_url(self, finding: CrawlFinding) -> str:
        return history_url(finding.image_id)


class TopPageSerializer(serializers.Serializer):
    page_url = serializers.CharField()
    flagged_images = serializers.IntegerField()


class ReportOutputSerializer(serializers.Serializer):
    run = CrawlRunOutputSerializer()
    summary = ReportSummarySerializer(source="run")
    top_pages = TopPageSerializer(many=True, help_text="Pages with the most flagged images.")
    flagged = FindingOutputSerializer(many=True, help_text="Images judged likely AI.")
    new = FindingOutputSerializer(many=True, help_text="Images no earlier run of the job found.")
    changed = FindingOutputSerializer(
        many=True, help_text="Images whose band changed since the job's previous report."
    )
