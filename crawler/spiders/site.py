"""The site spider: start URLs, then every link within the allowed domains, breadth first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from crawler.job import CrawlJob
from crawler.spiders.base import ImagePageSpider


class SiteSpider(ImagePageSpider):
    name = "site"

    def __init__(self, job: CrawlJob, **kwargs: Any) -> None:
        super().__init__(job, **kwargs)
        # LinkExtractor leaves out links to images, documents and media files. Links to other
        # domains are left to Scrapy's OffsiteMiddleware, which counts them (`offsite/filtered`);
        # LinkExtractor's `allow_domains` would also compare the port, and miss them.
        self._links = LinkExtractor(unique=True)

    async def start(self) -> AsyncIterator[Request]:
        # Not `dont_filter`: a start page linked again later must not be read twice.
        for url in self.job.start_urls:
            yield self.page_request(url)

    def links_to_follow(self, response: HtmlResponse) -> Iterable[Request]:
        return (self.page_request(link.url) for link in self._links.extract_links(response))
