"""The progress feed: one JSON object per line, about once a second, then a final line.

The platform's `crawls` app tails this file to show a run live and to record how it ended. Each
line is written with a single `write` and flushed at once; a reader should ignore a last line
without its newline (it is still being written). Fields:

    ts                 ISO 8601 UTC time of the line
    elapsed_seconds    since the crawl started
    pages              HTML pages read
    pages_per_second   since the previous line; on the final line, over the whole run
    images_found       images that passed normalisation and de-duplication
    images_submitted   images in batches the check API accepted
    images_known       ... of which the platform already had a verdict (answered at once)
    images_new         ... of which it queued for checking
    dropped            {"reason": n}: images not submitted, e.g. data_uri, svg, tracking_pixel,
                       duplicate, unsupported_scheme
    errors             {"kind": n}: http_404, http_500, timeout, dns_error, connection_refused,
                       download_error, api_throttled, api_server_error, api_unreachable,
                       api_rejected, api_unauthorized, submit_failed
    pages_skipped      {"reason": n}: robots_txt, offsite, not_html (e.g. a linked PDF)
    check_ids          ids of the checks created since the previous line
    final              false, and true on the last line, which also has:
    finish_reason      finished, page_limit, cancelled, api_unauthorized, or Scrapy's own reason
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call
from twisted.internet.task import LoopingCall

from crawler import stats
from crawler.signals import check_submitted

# Scrapy's names for how a crawl ended, in the words the platform shows.
_FINISH_REASONS = {
    "shutdown": "cancelled",  # SIGTERM or SIGINT
    "closespider_pagecount": "page_limit",
    "closespider_timeout": "time_limit",
}


def public_finish_reason(scrapy_reason: str) -> str:
    return _FINISH_REASONS.get(scrapy_reason, scrapy_reason)


def progress_line(
    counters: Mapping[str, Any],
    *,
    elapsed: float,
    pages_per_second: float,
    check_ids: list[str],
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One line of the feed from the crawl's stats; `finish_reason` makes it the final line."""
    line: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "elapsed_seconds": round(elapsed, 3),
        "pages": counters.get(stats.PAGES, 0),
        "pages_per_second": round(pages_per_second, 2),
        "images_found": counters.get(stats.IMAGES_FOUND, 0),
        "images_submitted": counters.get(stats.IMAGES_SUBMITTED, 0),
        "images_known": counters.get(stats.IMAGES_KNOWN, 0),
        "images_new": counters.get(stats.IMAGES_NEW, 0),
        "dropped": stats.counts_under(counters, stats.DROPPED),
        "errors": stats.counts_under(counters, stats.ERRORS),
        "pages_skipped": stats.pages_skipped(counters),
        "check_ids": check_ids,
        "final": finish_reason is not None,
    }
    if finish_reason is not None:
        line["finish_reason"] = finish_reason
    return line


class ProgressFile:
    """Appends lines to the feed, each flushed as soon as it is written."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open("a", encoding="utf-8")

    def write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class ProgressFeed:
    """Scrapy extension writing the feed to VERITY_PROGRESS_FILE while the spider runs."""

    def __init__(self, crawler: Crawler, path: Path, interval: float) -> None:
        self._crawler = crawler
        self._path = path
        self._interval = interval
        self._file: ProgressFile | None = None
        self._loop: AsyncioLoopingCall | LoopingCall | None = None
        self._started = self._last_time = time.monotonic()
        self._last_pages = 0
        self._new_check_ids: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("VERITY_PROGRESS_FILE")
        if not path:
            raise NotConfigured("no progress file")
        feed = cls(crawler, Path(path), crawler.settings.getfloat("VERITY_PROGRESS_INTERVAL"))
        crawler.signals.connect(feed.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(feed.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(feed.check_submitted, signal=check_submitted)
        return feed

    def spider_opened(self) -> None:
        self._started = self._last_time = time.monotonic()
        self._file = ProgressFile(self._path)
        self._loop = create_looping_call(self._write_progress)
        self._loop.start(self._interval, now=True)

    def check_submitted(self, check_id: str | None) -> None:
        if check_id is not None:
            self._new_check_ids.append(check_id)

    def spider_closed(self, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        elapsed = time.monotonic() - self._started
        average = self._pages() / elapsed if elapsed > 0 else 0.0
        self._write(self._line(average, finish_reason=public_finish_reason(reason)))
        if self._file is not None:
            self._file.close()

    def _write_progress(self) -> None:
        now, pages = time.monotonic(), self._pages()
        seconds = now - self._last_time
        rate = (pages - self._last_pages) / seconds if seconds > 0 else 0.0
        self._last_time, self._last_pages = now, pages
        self._write(self._line(rate))

    def _line(self, pages_per_second: float, finish_reason: str | None = None) -> dict[str, Any]:
        return progress_line(
            self._counters(),
            elapsed=time.monotonic() - self._started,
            pages_per_second=pages_per_second,
            check_ids=self._take_check_ids(),
            finish_reason=finish_reason,
        )

    def _pages(self) -> int:
        return int(self._counters().get(stats.PAGES, 0))

    def _counters(self) -> dict[str, Any]:
        assert self._crawler.stats is not None
        return self._crawler.stats.get_stats()

    def _take_check_ids(self) -> list[str]:
        ids, self._new_check_ids = self._new_check_ids, []
        return ids

    def _write(self, line: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(line)
