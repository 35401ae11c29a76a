"""The progress feed's lines: the contract the platform's `crawls` app reads."""

from __future__ import annotations

from datetime import datetime

from crawler.progress import progress_line, public_finish_reason

STATS = {
    "verity/pages": 12,
    "verity/images/found": 30,
    "verity/images/submitted": 25,
    "verity/images/known": 5,
    "verity/images/new": 20,
    "verity/dropped/svg": 2,
    "verity/dropped/duplicate": 4,
    "verity/errors/http_404": 1,
    "robotstxt/forbidden": 3,
    "offsite/filtered": 0,
    "downloader/request_count": 40,  # Scrapy's own counters stay out of the feed
}


def test_a_progress_line_carries_the_totals_and_the_new_check_ids():
    line = progress_line(STATS, elapsed=2.5, pages_per_second=4.8, check_ids=["c1", "c2"])
    assert datetime.fromisoformat(line.pop("ts")).tzinfo is not None
    assert line == {
        "elapsed_seconds": 2.5,
        "pages": 12,
        "pages_per_second": 4.8,
        "images_found": 30,
        "images_submitted": 25,
        "images_known": 5,
        "images_new": 20,
        "dropped": {"duplicate": 4, "svg": 2},
        "errors": {"http_404": 1},
        "pages_skipped": {"robots_txt": 3},
        "check_ids": ["c1", "c2"],
        "final": False,
    }


def test_the_final_line_says_how_the_crawl_ended():
    line = progress_line({}, elapsed=0.0, pages_per_second=0.0, check_ids=[], finish_reason="x")
    assert (line["final"], line["finish_reason"], line["pages"], line["dropped"]) == (
        True,
        "x",
        0,
        {},
    )


def test_scrapy_finish_reasons_are_named_for_people():
    assert public_finish_reason("shutdown") == "cancelled"
    assert public_finish_reason("closespider_pagecount") == "page_limit"
    assert public_finish_reason("finished") == "finished"
    assert public_finish_reason("page_limit") == "page_limit"
