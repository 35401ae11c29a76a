"""A run's report as CSV (one row per image and page) and as one JSON document, for the API and
the admin alike. CSV cells come from crawled sites: any that a spreadsheet would run as a
formula is quoted (OWASP "CSV injection")."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from crawls.models import CrawlFinding, CrawlRun
from crawls.selectors import report_findings, report_top_pages
from detections.serializers import history_url

CSV_COLUMNS = (
    "image_sha256",
    "band",
    "probability_ai",
    "model_version",
    "new_since_previous_run",
    "newly_flagged",
    "previous_band",
    "band_changed",
    "image_url",
    "page_url",
    "history_url",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_document(run: CrawlRun) -> dict[str, Any]:
    """What the report endpoint serialises: the run, its top pages and its sections."""
    return {
        "run": run,
        "top_pages": report_top_pages(run=run),
        "flagged": report_findings(run=run, section="flagged"),
        "new": report_findings(run=run, section="new"),
        "changed": report_findings(run=run, section="changed"),
    }


def report_csv_rows(run: CrawlRun) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for finding in report_findings(run=run).iterator(chunk_size=500):
        for page_url in finding.page_urls or [""]:
            yield [_cell(value) for value in _row(finding, page_url)]


def _row(finding: CrawlFinding, page_url: str) -> list[Any]:
    verdict = finding.verdict
    return [
        finding.image_id,
        finding.band or "pending",
        "" if finding.probability_ai is None else f"{finding.probability_ai:.4f}",
        verdict.model_version.label if verdict is not None else "",
        _yes(finding.is_new),
        _yes(finding.newly_flagged),
        finding.previous_band,
        _yes(finding.changed),
        finding.url,
        page_url,
        history_url(finding.image_id),
    ]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


def csv_response(run: CrawlRun) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines: Iterable[str] = (writer.writerow(row) for row in report_csv_rows(run))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="crawl-run-{run.pk}.csv"'
    return response
