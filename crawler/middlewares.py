"""Downloader middleware of our own: an address guard (the pages we read choose the links we
follow, so a page must not be able to send the crawl inside the network), and a backoff before
retries (Scrapy retries failed pages at once)."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_network
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.stats import count_page_skipped
from safefetch import FetchError, Resolver, parse_target, system_resolver
from safefetch.addresses import IPNetwork
from safefetch.resolve import resolve_checked

# Seconds a host name may take to resolve before the page is skipped.
RESOLVE_TIMEOUT = 10.0

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


class AddressGuardMiddleware:
    """Refuses every request (links, redirects, robots.txt, sitemaps) to a host that is or
    resolves to a private, loopback, link-local, multicast, reserved or cloud-metadata address,
    with the same rules as the platform's fetcher (`safefetch`). Counted as the skipped-page
    reason `address_blocked`.

    The name is checked here and resolved again by Scrapy when it connects: a DNS answer that
    changes in between (rebinding) is narrowed to the resolver's cache time, not closed. The
    crawler reads pages only; image bytes are fetched by the platform, which pins the address."""

    def __init__(
        self,
        exempt_networks: frozenset[IPNetwork],
        stats: StatsCollector,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._exempt = exempt_networks
        self._stats = stats
        self._resolver = resolver
        self._host_refusal = lru_cache(maxsize=4096)(self._look_up)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        networks = crawler.settings.getlist("VERITY_EXEMPT_NETWORKS")
        assert crawler.stats is not None
        return cls(frozenset(ip_network(n) for n in networks), crawler.stats)

    async def process_request(self, request: Request) -> None:
        # The DNS look-up runs in a thread: the reactor goes on with other pages meanwhile.
        refusal = await maybe_deferred_to_future(deferToThread(self.refusal, request.url))
        if refusal is not None:
            count_page_skipped(self._stats, "address_blocked")
            raise IgnoreRequest(refusal)

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be read, or None. Each host is looked up once per crawl."""
        try:
            target = parse_target(url)
        except FetchError:
            return None  # not http(s): Scrapy refuses what it cannot download on its own
        return self._host_refusal(target.host, target.port)

    def _look_up(self, host: str, port: int) -> str | None:
        try:
            resolve_checked(
                host,
                port,
                resolver=self._resolver,
                timeout=RESOLVE_TIMEOUT,
                exempt_networks=self._exempt,
            )
        except FetchError as error:
            return error.message
        return None
