"""What every Verity spider shares: a page budget, image extraction and error accounting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from scrapy import Request, Spider
from scrapy.exceptions import (
    CannotResolveHostError,
    CloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from crawler import stats
from crawler.extraction import extract_images
from crawler.items import ImageItem
from crawler.job import CrawlJob

# How a failed download is counted in the crawl's `errors`, most specific first.
_DOWNLOAD_ERROR_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (CannotResolveHostError, "dns_error"),
    (DownloadTimeoutError, "timeout"),
    (DownloadConnectionRefusedError, "connection_refused"),
    (DownloadCancelledError, "page_too_large"),
)


class ImagePageSpider(Spider):
    """Base of the spiders: reads pages (`parse_page`), yields their images, stops at the cap.

    The cap counts HTML pages actually read, not requests sent: robots.txt, sitemaps, redirects
    and broken links do not use it up. Reaching it closes the crawl with reason `page_limit`.
    """

    job: CrawlJob

    def __init__(self, job: CrawlJob, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.allowed_domains = list(job.effective_allowed_domains)
        self._pages_read = 0

    def page_request(self, url: str) -> Request:
        return Request(url, callback=self.parse_page, errback=self.page_failed)

    def parse_page(self, response: Response) -> Iterator[ImageItem | Request]:
        if not isinstance(response, HtmlResponse):
            stats.count_page_skipped(self._stats, "not_html")
            return
        if self._pages_read >= self.job.max_pages:
            return  # arrived while the crawl was closing at the cap
        self._pages_read += 1
        self._stats.inc_value(stats.PAGES)
        yield from self.images_on(response)
        if self._pages_read >= self.job.max_pages:
            raise CloseSpider("page_limit")
        yield from self.links_to_follow(response)

    def images_on(self, response: HtmlResponse) -> Iterator[ImageItem]:
        page = extract_images(response.selector, response.url)
        for skipped in page.skipped:
            stats.count_dropped(self._stats, skipped.reason)
        for image in page.found:
            yield ImageItem(
                url=image.url, page_url=response.url, alt=image.alt, found_by=image.found_by
            )

    def links_to_follow(self, response: HtmlResponse) -> Iterable[Request]:
        """Pages to read next; only the site spider follows links."""
        return ()

    def page_failed(self, failure: Failure) -> None:
        """Errback: count why a page (or sitemap) could not be read."""
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            return  # robots.txt or offsite: Scrapy counts these itself (see `pages_skipped`)
        stats.count_error(self._stats, error_kind(failure))

    @property
    def _stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats


def error_kind(failure: Failure) -> str:
    """`http_404`, `timeout`, ... for a failed download."""
    if isinstance(failure.value, HttpError):
        return f"http_{failure.value.response.status}"
    for exception_type, kind in _DOWNLOAD_ERROR_KINDS:
        if failure.check(exception_type):
            return kind
    return "download_error"
