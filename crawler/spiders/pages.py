"""The pages spider: exactly the pages it is given, no links followed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from scrapy import Request

from crawler.spiders.base import ImagePageSpider


class PagesSpider(ImagePageSpider):
    name = "pages"

    async def start(self) -> AsyncIterator[Request]:
        for url in self.job.page_urls:
            yield self.page_request(url)
