"""The crawl API under /api/v1/crawls/: jobs (CRUD, start a run), runs (live progress, cancel),
reports (JSON, CSV, and the images page by page).

Views translate HTTP to service and selector calls; the rules live in ``services``."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apitokens.models import ApiToken
from crawls import selectors
from crawls.exports import csv_response, report_document
from crawls.models import CrawlJob, RunStatus, RunTrigger, Spider
from crawls.permissions import CanManageCrawls, CanReadCrawls
from crawls.serializers import (
    CrawlJobOutputSerializer,
    CrawlRunDetailOutputSerializer,
    CrawlRunOutputSerializer,
    FindingOutputSerializer,
    ReportOutputSerializer,
    ScheduleSerializer,
)
from crawls.services.jobs import crawl_job_create, crawl_job_delete, crawl_job_update
from crawls.services.runs import crawl_run_cancel, crawl_run_start
from verity.pagination import PagePagination

MAX_URL_LENGTH = 4096
MAX_URLS = 500


def _urls(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_URL_LENGTH),
        max_length=MAX_URLS,
        required=False,
        help_text=help_text,
    )


class CrawlJobInputSerializer(serializers.Serializer):
    """Every field of a job; PATCH takes any subset."""

    class Meta:
        ref_name = "CrawlJobInput"

    name = serializers.CharField(max_length=120)
    spider = serializers.ChoiceField(choices=Spider.choices)
    start_urls = _urls("Site spider: where to start.")
    sitemap_urls = _urls("Sitemap spider: sitemaps, sitemap indexes or robots.txt URLs.")
    page_urls = _urls("Pages spider: the pages to read.")
    allowed_domains = serializers.ListField(
        child=serializers.CharField(max_length=253), max_length=50, required=False
    )
    max_pages = serializers.IntegerField(min_value=1, required=False)
    max_depth = serializers.IntegerField(min_value=0, max_value=50, required=False)
    obey_robots = serializers.BooleanField(required=False)
    concurrency_per_domain = serializers.IntegerField(min_value=1, max_value=8, required=False)
    download_delay = serializers.FloatField(min_value=0, max_value=60, required=False)
    autothrottle = serializers.BooleanField(required=False)
    retry_times = serializers.IntegerField(min_value=0, max_value=10, required=False)
    schedule = ScheduleSerializer(
        required=False, allow_null=True, help_text="null: run only when started."
    )
    notify_emails = serializers.ListField(
        child=serializers.EmailField(), max_length=20, required=False
    )
    notify_webhooks = serializers.ListField(
        child=serializers.URLField(max_length=2000), max_length=5, required=False
    )
    enabled = serializers.BooleanField(required=False)


def job_fields(validated: dict[str, Any]) -> dict[str, Any]:
    """The serializer's fields as the job's model fields (the schedule is three of them)."""
    fields = {name: value for name, value in validated.items() if name != "schedule"}
    if "schedule" in validated:
        schedule = validated["schedule"] or {}
        fields["schedule_cron"] = schedule.get("cron") or ""
        fields["schedule_every_minutes"] = schedule.get("every_minutes")
        fields["schedule_timezone"] = schedule.get("timezone") or "UTC"
    return fields


def _token(request: Request) -> ApiToken:
    token = request.auth
    assert isinstance(token, ApiToken)
    return token


def _paginated(request: Request, view: APIView, rows: Any, serializer: type) -> Response:
    paginator = PagePagination()
    page: list[Any] | None = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class _ReadOrManage(APIView):
    """Reading takes a read (or submit) scope; changing takes submit."""

    def get_permissions(self) -> list[Any]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [CanReadCrawls()]
        return [CanManageCrawls()]

    def get_throttles(self) -> list[Any]:
        # TokenRateThrottle reads the view's scope: reads and writes draw on separate budgets.
        self.throttle_scope = "read" if self.request.method in ("GET", "HEAD") else "submit"
        return super().get_throttles()


class CrawlJobListCreateApi(_ReadOrManage):
    @extend_schema(
        operation_id="crawl_jobs_list",
        summary="Your crawl jobs",
        responses={200: CrawlJobOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        jobs = selectors.jobs_visible_to(token=_token(request)).select_related("periodic_task")
        return _paginated(request, self, jobs, CrawlJobOutputSerializer)

    @extend_schema(
        operation_id="crawl_jobs_create",
        summary="Create a crawl job (optionally scheduled: cron or every N minutes)",
        request=CrawlJobInputSerializer,
        responses={201: CrawlJobOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = CrawlJobInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token = _token(request)
        job = crawl_job_create(
            fields=job_fields(payload.validated_data), owner=token.owner, created_by_token=token
        )
        return Response(CrawlJobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


class CrawlJobDetailApi(_ReadOrManage):
    @extend_schema(
        operation_id="crawl_jobs_retrieve",
        summary="A crawl job",
        responses={200: CrawlJobOutputSerializer},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(token=_token(request), job_id=job_id)
        return Response(CrawlJobOutputSerializer(job).data)

    @extend_schema(
        operation_id="crawl_jobs_partial_update",
        summary="Change a crawl job (any of its fields)",
        request=CrawlJobInputSerializer(partial=True),
        responses={200: CrawlJobOutputSerializer},
    )
    def patch(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(token=_token(request), job_id=job_id)
        payload = CrawlJobInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        job = crawl_job_update(job=job, fields=job_fields(payload.validated_data))
        return Response(CrawlJobOutputSerializer(job).data)

    @extend_schema(
        operation_id="crawl_jobs_destroy",
        summary="Delete a crawl job with its runs and reports (not while a run is active)",
        responses={204: None},
    )
    def delete(self, request: Request, job_id: int) -> Response:
        crawl_job_delete(job=selectors.job_get(token=_token(request), job_id=job_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CrawlJobRunStartApi(APIView):
    permission_classes = (CanManageCrawls,)
    throttle_scope = "submit"

    @extend_schema(
        operation_id="crawl_jobs_runs_create",
        summary="Start a run of the job now (409 while another run of it is active)",
        request=None,
        responses={202: CrawlRunOutputSerializer},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job: CrawlJob = selectors.job_get(token=_token(request), job_id=job_id)
        run = crawl_run_start(job=job, trigger=RunTrigger.MANUAL)
        return Response(CrawlRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class CrawlRunListApi(APIView):
    permission_classes = (CanReadCrawls,)
    throttle_scope = "read"

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CrawlRunFilters"

        job = serializers.IntegerField(required=False)
        status = serializers.ChoiceField(choices=RunStatus.choices, required=False)

    @extend_schema(
        operation_id="crawl_runs_list",
        summary="Runs of your jobs, newest first (optionally of one job, in one status)",
        parameters=[FilterSerializer],
        responses={200: CrawlRunOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        runs = selectors.runs_visible_to(
            token=_token(request),
            job_id=filters.validated_data.get("job"),
            status=filters.validated_data.get("status"),
        )
        return _paginated(request, self, runs, CrawlRunOutputSerializer)


class CrawlRunDetailApi(APIView):
    permission_classes = (CanReadCrawls,)
    throttle_scope = "read"

    @extend_schema(
        operation_id="crawl_runs_retrieve",
        summary="A run: live progress while crawling, scoring progress, then its summary",
        responses={200: CrawlRunDetailOutputSerializer},
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(token=_token(request), run_id=run_id)
        return Response(CrawlRunDetailOutputSerializer(run).data)


class CrawlRunCancelApi(APIView):
    permission_classes = (CanManageCrawls,)
    throttle_scope = "submit"

    @extend_schema(
        operation_id="crawl_runs_cancel",
        summary="Cancel a run (a crawl in progress stops within the grace period)",
        request=None,
        responses={202: CrawlRunOutputSerializer},
    )
    def post(self, request: Request, run_id: str) -> Response:
        run = crawl_run_cancel(run=selectors.run_get(token=_token(request), run_id=run_id))
        return Response(CrawlRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class CrawlRunReportApi(APIView):
    permission_classes = (CanReadCrawls,)
    throttle_scope = "read"

    @extend_schema(
        operation_id="crawl_runs_report",
        summary="A done run's report: flagged images, what is new, changed verdicts, top pages",
        responses={200: ReportOutputSerializer},
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = selectors.run_get(token=_token(request), run_id=run_id)
        selectors.report_ready(run=run)
        return Response(ReportOutputSerializer(report_document(run)).data)


class CrawlRunReportCsvApi(APIView):
    permission_classes = (CanReadCrawls,)
    throttle_scope = "read"

    @extend_schema(
        operation_id="crawl_runs_report_csv",
        summary="A done run's report as CSV: one row per image and page",
        responses={(200, "text/csv"): OpenApiResponse(description="CSV with a header row")},
    )
    def get(self, request: Request, run_id: str) -> StreamingHttpResponse:
        run = selectors.run_get(token=_token(request), run_id=run_id)
        selectors.report_ready(run=run)
        return csv_response(run)


class CrawlRunImageListApi(APIView):
    permission_classes = (CanReadCrawls,)
    throttle_scope = "read"

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CrawlRunImageFilters"

        section = serializers.ChoiceField(
            choices=selectors.SECTIONS,
            required=False,
            help_text="Only flagged, new, newly_flagged, changed or pending images.",
        )

    @extend_schema(
        operation_id="crawl_runs_images",
        summary="A done run's images, most likely AI first, page by page",
        parameters=[FilterSerializer],
        responses={200: FindingOutputSerializer(many=True)},
    )
    def get(self, request: Request, run_id: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        run = selectors.run_get(token=_token(request), run_id=run_id)
        selectors.report_ready(run=run)
        findings = selectors.report_findings(run=run, section=filters.validated_data.get("section"))
        return _paginated(request, self, findings, FindingOutputSerializer)
