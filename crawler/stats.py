"""The crawl's own counters, kept in Scrapy's stats collector under `verity/`.

Every component counts through these helpers, and the progress feed reads them back, so what the
platform shows and what Scrapy dumps at the end of a crawl can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapy.statscollectors import StatsCollector

PAGES = "verity/pages"
IMAGES_FOUND = "verity/images/found"
IMAGES_SUBMITTED = "verity/images/submitted"
IMAGES_KNOWN = "verity/images/known"
IMAGES_NEW = "verity/images/new"
DROPPED = "verity/dropped/"
ERRORS = "verity/errors/"
PAGES_SKIPPED = "verity/pages_skipped/"

# Pages the crawl chose not to fetch, as counted by Scrapy's own middlewares.
PAGES_SKIPPED_BY_SCRAPY = {
    "robots_txt": "robotstxt/forbidden",
    "offsite": "offsite/filtered",
}


def count_dropped(stats: StatsCollector, reason: str, count: int = 1) -> None:
    """An image not submitted, and why (`data_uri`, `svg`, `duplicate`, ...)."""
    stats.inc_value(DROPPED + reason, count)


def count_error(stats: StatsCollector, kind: str, count: int = 1) -> None:
    """Something that went wrong (`http_404`, `timeout`, `api_throttled`, `submit_failed`, ...)."""
    stats.inc_value(ERRORS + kind, count)


def counts_under(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """`{"duplicate": 3, ...}` from `{"verity/dropped/duplicate": 3, ...}`."""
    return {
        key.removeprefix(prefix): int(value)
        for key, value in sorted(stats.items())
        if key.startswith(prefix) and value
    }


def count_page_skipped(stats: StatsCollector, reason: str) -> None:
    """A page not read (`not_html`); robots.txt and offsite skips Scrapy counts itself."""
    stats.inc_value(PAGES_SKIPPED + reason)


def pages_skipped(stats: Mapping[str, Any]) -> dict[str, int]:
    by_scrapy = {
        reason: int(stats[key]) for reason, key in PAGES_SKIPPED_BY_SCRAPY.items() if stats.get(key)
    }
    return by_scrapy | counts_under(stats, PAGES_SKIPPED)
