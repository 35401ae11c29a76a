from django.urls import path

from crawls import apis

urlpatterns = [
    path("jobs", apis.CrawlJobListCreateApi.as_view(), name="crawl-jobs"),
    path("jobs/<int:job_id>", apis.CrawlJobDetailApi.as_view(), name="crawl-jobs-detail"),
    path("jobs/<int:job_id>/runs", apis.CrawlJobRunStartApi.as_view(), name="crawl-jobs-runs"),
    path("runs", apis.CrawlRunListApi.as_view(), name="crawl-runs"),
    path("runs/<uuid:run_id>", apis.CrawlRunDetailApi.as_view(), name="crawl-runs-detail"),
    path("runs/<uuid:run_id>/cancel", apis.CrawlRunCancelApi.as_view(), name="crawl-runs-cancel"),
    path("runs/<uuid:run_id>/report", apis.CrawlRunReportApi.as_view(), name="crawl-runs-report"),
    path(
        "runs/<uuid:run_id>/report.csv",
        apis.CrawlRunReportCsvApi.as_view(),
        name="crawl-runs-report-csv",
    ),
    path(
        "runs/<uuid:run_id>/images", apis.CrawlRunImageListApi.as_view(), name="crawl-runs-images"
    ),
]
