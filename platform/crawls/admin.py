"""Crawls in the admin: jobs edited with their schedule (kept in step with celery beat), started
with an action; runs with live progress, their report (flagged, new, changed, top pages), CSV and
JSON exports, and a cancel action."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from crawls.exports import csv_response, report_document
from crawls.models import CrawlFinding, CrawlJob, CrawlRun, RunStatus, RunTrigger
from crawls.selectors import report_findings, report_top_pages, run_checks
from crawls.serializers import ReportOutputSerializer
from crawls.services.jobs import crawl_job_delete, crawl_job_save, job_problems
from crawls.services.runs import crawl_run_cancel, crawl_run_start
from verity.errors import ApplicationError

LIST_FIELDS = (
    "start_urls",
    "sitemap_urls",
    "page_urls",
    "allowed_domains",
    "notify_emails",
    "notify_webhooks",
)
ROWS_SHOWN = 100


class LinesField(forms.CharField):
    """A list edited as text, one item per line."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), **kwargs
        )

    def prepare_value(self, value: Any) -> str:
        return "\n".join(value) if isinstance(value, list) else str(value or "")

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]


class CrawlJobForm(forms.ModelForm):
    start_urls = LinesField(help_text="Site spider: one URL per line.")
    sitemap_urls = LinesField(help_text="Sitemap spider: sitemaps or robots.txt, one per line.")
    page_urls = LinesField(help_text="Pages spider: one URL per line.")
    allowed_domains = LinesField(help_text="Default: the hosts of the URLs above.")
    notify_emails = LinesField(help_text="Told when a run finds newly flagged images.")
    notify_webhooks = LinesField(help_text="POSTed a signed JSON alert (see the secret).")

    class Meta:
        model = CrawlJob
        exclude: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        candidate = CrawlJob(pk=self.instance.pk)
        for name, value in cleaned.items():
            setattr(candidate, name, value)
        problems = job_problems(candidate)
        if problems:
            raise forms.ValidationError(problems)
        return cleaned


@admin.register(CrawlJob)
class CrawlJobAdmin(admin.ModelAdmin):
    form = CrawlJobForm
    list_display = ("name", "spider", "schedule", "enabled", "owner", "last_run")
    list_filter = ("spider", "enabled")
    search_fields = ("name",)
    readonly_fields = ("webhook_secret", "periodic_task", "created_at", "updated_at")
    actions = ("start_runs",)
    fieldsets = (
        (None, {"fields": ("name", "owner", "enabled", "spider")}),
        ("What to crawl", {"fields": LIST_FIELDS[:4]}),
        (
            "Limits and politeness",
            {
                "fields": (
                    "max_pages",
                    "max_depth",
                    "obey_robots",
                    "concurrency_per_domain",
                    "download_delay",
                    "autothrottle",
                    "retry_times",
                )
            },
        ),
        (
            "Schedule (cron or every N minutes; kept in step with celery beat)",
            {"fields": ("schedule_cron", "schedule_every_minutes", "schedule_timezone")},
        ),
        ("Alerts", {"fields": ("notify_emails", "notify_webhooks", "webhook_secret")}),
        ("Record", {"fields": ("periodic_task", "created_at", "updated_at")}),
    )

    @admin.display(description="Schedule")
    def schedule(self, job: CrawlJob) -> str:
        if job.schedule_cron:
            return f"cron {job.schedule_cron} ({job.schedule_timezone})"
        if job.schedule_every_minutes is not None:
            return f"every {job.schedule_every_minutes} min"
        return "-"

    @admin.display(description="Last run")
    def last_run(self, job: CrawlJob) -> str:
        run = job.runs.order_by("-created_at").first()
        return f"{run.status} ({run.created_at:%Y-%m-%d %H:%M})" if run else "-"

    def save_model(self, request: HttpRequest, obj: CrawlJob, form: Any, change: bool) -> None:
        crawl_job_save(job=obj)  # the form checked it already; this also syncs the schedule

    def delete_model(self, request: HttpRequest, obj: CrawlJob) -> None:
        try:
            crawl_job_delete(job=obj)
        except ApplicationError as error:
            messages.error(request, f"{obj}: {error.message}")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CrawlJob]) -> None:
        for job in queryset:
            self.delete_model(request, job)

    @admin.action(description="Start a run now")
    def start_runs(self, request: HttpRequest, queryset: QuerySet[CrawlJob]) -> None:
        for job in queryset:
            try:
                crawl_run_start(job=job, trigger=RunTrigger.MANUAL)
            except ApplicationError as error:
                messages.error(request, f"{job}: {error.message}")
            else:
                messages.info(request, f"{job}: a run is queued on the crawl queue.")


def _findings_table(findings: QuerySet[CrawlFinding], total: int) -> SafeString:
    shown = list(findings[:ROWS_SHOWN])
    if not shown:
        return mark_safe("<p>None.</p>")
    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>"
        '<td><a href="{}" rel="noreferrer">{}</a></td><td>{}</td></tr>',
        (
            (
                finding.image_id[:12],
                finding.band or "pending",
                "" if finding.probability_ai is None else f"{finding.probability_ai:.2f}",
                finding.previous_band or "-",
                finding.url,
                finding.url[:80],
                finding.page_url[:80],
            )
            for finding in shown
        ),
    )
    more = f"<p>{total - len(shown)} more in the CSV export.</p>" if total > len(shown) else ""
    return format_html(
        "<table><tr><th>image</th><th>band</th><th>P(AI)</th><th>before</th><th>image URL</th>"
        "<th>page</th></tr>{}</table>{}",
        rows,
        SafeString(more),
    )


@admin.register(CrawlRun)
class CrawlRunAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "job",
        "trigger",
        "status",
        "pages",
        "images_found",
        "report_flagged",
        "report_new",
        "report_changed",
        "created_at",
    )
    list_filter = ("status", "trigger", "job")
    actions = ("cancel_runs",)
    exclude = ("token",)
    readonly_fields = (
        "id",
        "job",
        "trigger",
        "status",
        "exports",
        "created_at",
        "started_at",
        "crawl_finished_at",
        "finished_at",
        "heartbeat_at",
        "worker",
        "scoring_deadline",
        "cancel_requested_at",
        "pages",
        "pages_per_second",
        "elapsed_seconds",
        "images_found",
        "images_submitted",
        "images_known",
        "images_new",
        "dropped",
        "errors",
        "pages_skipped",
        "exit_code",
        "finish_reason",
        "error",
        "report_images",
        "report_flagged",
        "report_new",
        "report_newly_flagged",
        "report_changed",
        "report_pending",
        "item_errors",
        "alerted_at",
        "checks",
        "top_pages",
        "flagged_images",
        "changed_images",
        "new_images",
        "log",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Run")
    def short_id(self, run: CrawlRun) -> str:
        return str(run.pk)[:8]

    @admin.display(description="Report exports")
    def exports(self, run: CrawlRun) -> str:
        if run.status != RunStatus.DONE:
            return "(when the run is done)"
        csv_url = reverse("admin:crawls_crawlrun_report_csv", args=[run.pk])
        json_url = reverse("admin:crawls_crawlrun_report_json", args=[run.pk])
        return format_html('<a href="{}">CSV</a> · <a href="{}">JSON</a>', csv_url, json_url)

    @admin.display(description="Checks the crawler created")
    def checks(self, run: CrawlRun) -> str:
        ids = run_checks(run=run).order_by("created_at").values_list("id", flat=True)
        links = (
            (reverse("admin:detections_check_change", args=[check_id]), str(check_id)[:8])
            for check_id in ids
        )
        return format_html_join(" ", '<a href="{}">{}</a>', links) or "-"

    @admin.display(description="Pages with the most flagged images")
    def top_pages(self, run: CrawlRun) -> str:
        pages = report_top_pages(run=run)
        if not pages:
            return "-"
        return format_html_join(
            "", "<div>{} · {}</div>", ((p["flagged_images"], p["page_url"]) for p in pages)
        )

    @admin.display(description="Flagged likely AI")
    def flagged_images(self, run: CrawlRun) -> str:
        return _findings_table(report_findings(run=run, section="flagged"), run.report_flagged)

    @admin.display(description="Band changed since the previous report")
    def changed_images(self, run: CrawlRun) -> str:
        return _findings_table(report_findings(run=run, section="changed"), run.report_changed)

    @admin.display(description="New since the previous run")
    def new_images(self, run: CrawlRun) -> str:
        return _findings_table(report_findings(run=run, section="new"), run.report_new)

    @admin.display(description="Crawler log (tail)")
    def log(self, run: CrawlRun) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap;max-height:30em">{}</pre>', run.log_tail
        )

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[CrawlRun]) -> None:
        for run in queryset:
            try:
                crawl_run_cancel(run=run)
            except ApplicationError as error:
                messages.warning(request, f"{run}: {error.message}")

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<uuid:pk>/report.csv",
                self.admin_site.admin_view(self.report_csv_view),
                name="crawls_crawlrun_report_csv",
            ),
            path(
                "<uuid:pk>/report.json",
                self.admin_site.admin_view(self.report_json_view),
                name="crawls_crawlrun_report_json",
            ),
        ]
        return own + super().get_urls()

    def report_csv_view(self, request: HttpRequest, pk: str) -> StreamingHttpResponse:
        return csv_response(get_object_or_404(CrawlRun, pk=pk, status=RunStatus.DONE))

    def report_json_view(self, request: HttpRequest, pk: str) -> HttpResponse:
        run = get_object_or_404(CrawlRun, pk=pk, status=RunStatus.DONE)
        document = ReportOutputSerializer(report_document(run)).data
        response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="crawl-run-{run.pk}.json"'
        return response
