"""Item pipelines, in the order they run (see ITEM_PIPELINES in `crawler.settings`), one job each:

1. `NormaliseImageUrlPipeline`: one spelling per image URL; drops what cannot be submitted;
2. `DeduplicateImagesPipeline`: each image URL once per run;
3. `SubmitImagesPipeline`: batches to the platform's check API, with back-pressure (only when
   the job names an `api_url`);
4. `RecordImageStatsPipeline`: counts what made it through, and why the rest was dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.asyncio import run_in_thread
from scrapy.utils.defer import deferred_from_coro

from crawler import stats
from crawler.items import ImageItem
from crawler.signals import check_submitted
from crawler.submission import BatchResult, CheckApiClient, RetryPolicy, SubmittedImage
from crawler.urls import UnusableUrlError, image_url_key, normalise_image_url

logger = logging.getLogger(__name__)

# The API token comes from the environment, never from a flag or the job file: command lines
# are visible to every user of the machine, and Scrapy logs its settings.
API_TOKEN_ENV = "VERITY_API_TOKEN"  # noqa: S105 (a variable name, not a secret)

# Batches on their way to the API at once. Two keep the crawl busy while one batch travels; more
# would only queue up at a platform that is already telling us to slow down.
MAX_BATCHES_IN_FLIGHT = 2


class DropImage(DropItem):
    """Drop an image for a `reason` the crawl's stats count (e.g. `duplicate`)."""

    def __init__(self, reason: str, url: str) -> None:
        # Drops are counted, not logged one by one: a large site drops thousands of duplicates.
        super().__init__(f"{reason}: {url[:200]}", log_level="DEBUG")
        self.reason = reason


class NormaliseImageUrlPipeline:
    def process_item(self, item: ImageItem) -> ImageItem:
        try:
            item.url = normalise_image_url(item.url)
        except UnusableUrlError as error:
            raise DropImage(error.reason, item.url) from error
        return item


class DeduplicateImagesPipeline:
    def __init__(self) -> None:
        self._seen: set[str] = set()

    def process_item(self, item: ImageItem) -> ImageItem:
        key = image_url_key(item.url)
        if key in self._seen:
            raise DropImage("duplicate", item.url)
        self._seen.add(key)
        return item


class SubmitImagesPipeline:
    """Submits images to the check API in batches of `batch_size`.

    Each POST runs in a worker thread (`run_in_thread`) so the reactor keeps crawling while a
    batch travels; at most MAX_BATCHES_IN_FLIGHT travel at once. Sending the POST through
    Scrapy's own downloader (`engine.download_async`) was the other choice, and a worse one here:
    the API request would be subject to the crawl's robots.txt rules, AutoThrottle delays,
    per-domain concurrency and page counts, and the downloader is already closed when the last
    batch must be flushed on shutdown.

    Back-pressure: the item that fills a batch is held until its batch is accepted (a 429 is
    waited out in the thread). While items are held, Scrapy's scraper stops taking in new
    responses once SCRAPER_SLOT_MAX_ACTIVE_SIZE is reached, so a slow platform slows the crawl
    instead of filling memory.
    """

    def __init__(self, crawler: Crawler, client: CheckApiClient, batch_size: int) -> None:
        self._crawler = crawler
        self._client = client
        self._batch_size = batch_size
        self._pending: list[ImageItem] = []
        self._in_flight = asyncio.Semaphore(MAX_BATCHES_IN_FLIGHT)
        self._refused = False  # the API refused our token: nothing more can be submitted
        self._closing: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        api_url = settings.get("VERITY_API_URL")
        if not api_url:
            # Said at INFO: a bare NotConfigured keeps Scrapy from logging this as a warning.
            logger.info("No API URL: found images are not submitted, only exported")
            raise NotConfigured
        token = os.environ.get(API_TOKEN_ENV, "")
        if not token:
            raise ValueError(f"{API_TOKEN_ENV} is not set, so images cannot be submitted")
        client = CheckApiClient(
            api_url,
            token,
            reference=settings.get("VERITY_REFERENCE", ""),
            user_agent=settings.get("USER_AGENT"),
            policy=RetryPolicy(
                max_retries=settings.getint("VERITY_API_RETRIES"),
                backoff=settings.getfloat("VERITY_API_BACKOFF"),
            ),
        )
        return cls(crawler, client, settings.getint("VERITY_BATCH_SIZE"))

    async def process_item(self, item: ImageItem) -> ImageItem:
        self._pending.append(item)
        if len(self._pending) >= self._batch_size:
            await self._submit(self._take_batch())
        return item

    async def close_spider(self) -> None:
        """Flush the last, partial batch: this also runs when the crawl is cancelled."""
        if self._pending:
            await self._submit(self._take_batch())
        self._client.close()

    def _take_batch(self) -> list[ImageItem]:
        batch, self._pending = self._pending, []
        return batch

    async def _submit(self, batch: list[ImageItem]) -> None:
        images = [SubmittedImage(url=i.url, page_url=i.page_url, alt=i.alt) for i in batch]
        async with self._in_flight:
            if self._refused:  # checked once our turn has come: the refusal may be that recent
                return
            result = await run_in_thread(self._client.submit, images)
        self._record(result, len(batch))

    def _record(self, result: BatchResult, size: int) -> None:
        counters = self._crawler.stats
        assert counters is not None
        for kind, count in (
            ("api_throttled", result.throttled),
            ("api_server_error", result.server_errors),
            ("api_unreachable", result.connection_errors),
        ):
            if count:
                stats.count_error(counters, kind, count)
        if result.outcome == "accepted":
            counters.inc_value(stats.IMAGES_SUBMITTED, size)
            counters.inc_value(stats.IMAGES_KNOWN, result.known)
            counters.inc_value(stats.IMAGES_NEW, result.new)
            self._crawler.signals.send_catch_log(check_submitted, check_id=result.check_id)
        elif result.outcome == "unauthorized":
            stats.count_error(counters, "api_unauthorized")
            logger.error("The check API refused our token (%s); stopping the crawl", result.detail)
            self._stop_crawl("api_unauthorized")
        else:
            stats.count_error(
                counters, "api_rejected" if result.outcome == "rejected" else "submit_failed"
            )
            logger.error("A batch of %d images was not submitted: %s", size, result.detail)

    def _stop_crawl(self, reason: str) -> None:
        self._refused = True
        # Not awaited: closing waits for every item in the pipelines, this one included.
        self._closing = deferred_from_coro(self._crawler.engine.close_spider_async(reason=reason))


class RecordImageStatsPipeline:
    """Counts the images that made it through the pipelines and, for the others, why not."""

    def __init__(self, crawler: Crawler) -> None:
        self._crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def process_item(self, item: ImageItem) -> ImageItem:
        assert self._crawler.stats is not None
        self._crawler.stats.inc_value(stats.IMAGES_FOUND)
        return item

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        assert self._crawler.stats is not None
        reason = exception.reason if isinstance(exception, DropImage) else "other"
        stats.count_dropped(self._crawler.stats, reason)
