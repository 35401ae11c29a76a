"""Downloader middleware of our own: Scrapy retries failed pages at once, we back off first."""

from __future__ import annotations

from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import sleep

# Never wait longer than this before one retry, however many retries came before.
MAX_RETRY_BACKOFF = 60.0


class RetryBackoffMiddleware:
    """Delays each retry of a page (`retry_times` in its meta, set by Scrapy's RetryMiddleware)
    by VERITY_RETRY_BACKOFF seconds, doubled for every earlier retry: a struggling server gets
    room to recover instead of the same request again straight away."""

    def __init__(self, backoff: float) -> None:
        self._backoff = backoff

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        backoff = crawler.settings.getfloat("VERITY_RETRY_BACKOFF")
        if backoff <= 0:
            raise NotConfigured("no retry backoff")
        return cls(backoff)

    def backoff_before(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 for the first)."""
        return min(MAX_RETRY_BACKOFF, self._backoff * 2 ** (retry - 1))

    async def process_request(self, request: Request) -> None:
        retry = request.meta.get("retry_times", 0)
        if retry:
            await sleep(self.backoff_before(retry))
