"""The sitemap spider: the pages listed in XML sitemaps, sitemap indexes and news sitemaps.

Sitemaps are found from the job's `sitemap_urls`, which may be robots.txt files (their `Sitemap:`
lines are followed), or else from robots.txt at the origin of each start URL. Parsing is Scrapy's
(`scrapy.utils.sitemap`, the code behind its `SitemapSpider`); this spider only wires it to
the page budget and error accounting the other spiders share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urljoin, urlsplit

import lxml.etree
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler import stats
from crawler.spiders.base import ImagePageSpider


class SitemapPagesSpider(ImagePageSpider):
    name = "sitemap"

    async def start(self) -> AsyncIterator[Request]:
        for url in self.job.sitemap_urls or [_robots_txt(url) for url in self.job.start_urls]:
            yield self.sitemap_request(url)

    def sitemap_request(self, url: str) -> Request:
        return Request(url, callback=self.parse_sitemap, errback=self.page_failed)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        if urlsplit(response.url).path == "/robots.txt":
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                yield self.sitemap_request(url)
            return
        sitemap = _read_sitemap(self._sitemap_body(response))
        if sitemap is None:
            stats.count_error(self._stats, "invalid_sitemap")
            self.logger.warning("Not a sitemap: %s", response.url)
            return
        follow = self.sitemap_request if sitemap.type == "sitemapindex" else self.page_request
        for entry in sitemap:
            if entry["loc"]:
                yield follow(entry["loc"])

    def _sitemap_body(self, response: Response) -> bytes | None:
        """The XML of a sitemap, gunzipped when it is a .xml.gz file."""
        if not gzip_magic_number(response):
            return response.body
        try:
            return gunzip(response.body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        except ValueError:  # larger than DOWNLOAD_MAXSIZE once unpacked
            return None


def _read_sitemap(body: bytes | None) -> Sitemap | None:
    if not body:
        return None
    try:
        sitemap = Sitemap(body)
    except (lxml.etree.XMLSyntaxError, StopIteration):
        return None
    return sitemap if sitemap.type in {"sitemapindex", "urlset"} else None


def _robots_txt(url: str) -> str:
    return urljoin(url, "/robots.txt")
