"""Real crawls of the local test website, run as the platform runs them: `python -m crawler run`
in a subprocess, with a job file, a progress feed, an output file and a recording check API.

The expected images are written out by hand from the pages under site/: a crawl must find
exactly these, skip exactly the ones the pages were written to have skipped, and submit each once.
"""

from __future__ import annotations

import signal
import time

import pytest

from crawler.pipelines import MAX_BATCHES_IN_FLIGHT
from crawler.runner import ExitCode

# Politeness stays on (robots.txt is obeyed); only the waiting is taken out, to keep tests fast.
QUICK = {
    "autothrottle": False,
    "download_delay": 0,
    "concurrency_per_domain": 4,
    "retry_backoff": 0.05,
    "api_backoff": 0.05,
}

# What a reader sees on each page of the test site (paths on the site, or full URLs elsewhere).
IMAGES_ON = {
    "/": ["/img/plain.jpg"],
    "/patterns.html": [
        "/img/plain.jpg",
        "/img/hero-1600.jpg",
        "/img/logo-3x.png",
        "https://cdn.example.org/photos/cdn.jpg?w=1280,h=960",
    ],
    "/lazy.html": [
        "/img/lazy-data-src.jpg",
        "/img/lazy-set-900.jpg",
        "/img/lazy-original.jpg",
        "/img/native-lazy.jpg",
    ],
    "/picture.html": [
        "/img/picture-2x.avif",
        "/img/picture-1200.webp",
        "/img/picture.jpg",
        "/img/diagram.png",
        "/img/lazy-picture-1600.webp",
        "/img/lazy-picture.jpg",
    ],
    "/social.html": ["/img/og-card.jpg", "https://cdn.example.org/photos/twitter-card.jpg"],
    "/backgrounds.html": [
        "/img/bg-single-quoted.jpg",
        "/img/bg-double-quoted.jpg",
        "/img/bg-layer-1.jpg",
        "/img/bg-layer-2.png",
    ],
    "/skipped.html": ["/img/thin.jpg"],
    "/relative.html": [
        "/assets/articles/photo.jpg",
        "/assets/shared/banner.jpg",
        "/img/protocol-relative.jpg",
        "/img/root-relative.jpg",
    ],
    "/moved.html": ["/img/redirected.jpg"],
    "/loop-a.html": ["/img/loop.jpg"],
    "/loop-b.html": ["/img/loop.jpg"],
    "/big.html": ["/img/big-page-start.jpg", "/img/big-page-end.jpg"],
    "/news/article-1.html": ["/img/news-1.jpg", "/img/news-1-card.jpg"],
    "/news/article-2.html": ["/img/news-2.jpg"],
}
# Pages the site spider reaches by links from the front page (robots.txt, redirects, loops,
# broken links and the off-site link included in the site, not in this list).
LINKED_PAGES = [
    "/",
    "/patterns.html",
    "/lazy.html",
    "/picture.html",
    "/social.html",
    "/backgrounds.html",
    "/skipped.html",
    "/relative.html",
    "/moved.html",
    "/loop-a.html",
    "/loop-b.html",
    "/big.html",
]
# Pages listed in the sitemaps that robots.txt points to (a disallowed one and a 404 left out).
SITEMAP_PAGES = [
    "/patterns.html",
    "/social.html",
    "/moved.html",
    "/news/article-1.html",
    "/news/article-2.html",
    "/backgrounds.html",
]


def expected_images(site, pages):
    return {
        image if image.startswith("https://") else site.url(image)
        for page in pages
        for image in IMAGES_ON[page]
    }


def assert_polite(site):
    requested = site.paths_requested()
    assert requested[0] == "/robots.txt"
    assert "/private/secret.html" not in requested  # disallowed by robots.txt
    assert "/offsite.html" not in requested  # on another site
    assert not [path for path in requested if path.startswith("/img/")]  # images are not fetched
    assert {seen.user_agent for seen in site.requests} == {
        "Verity/0.1 (+https://github.com/verity-project/verity)"
    }


def test_the_site_spider_finds_exactly_what_a_reader_sees_and_submits_it(site, crawler, check_api):
    known = {site.url("/img/plain.jpg"), site.url("/img/og-card.jpg")}
    api = check_api(answers=[429, 500], known=known)  # throttled once, then a server error
    job = {"spider": "site", "start_urls": [site.url("/")], "api_url": api.url, **QUICK}
    run = crawler.run({**job, "reference": "crawl-run:site", "batch_size": 5})

    assert run.returncode == ExitCode.OK, run.log
    expected = expected_images(site, LINKED_PAGES)
    assert len(expected) == 29
    assert sorted(image["url"] for image in run.images) == sorted(expected)
    assert run.final == run.final | {
        "final": True,
        "finish_reason": "finished",
        "pages": len(LINKED_PAGES),
        "images_found": 29,
        "images_submitted": 29,
        "images_known": 2,
        "images_new": 27,
        "dropped": {
            "data_uri": 2,  # an inline <img>, an inline background
            "duplicate": 3,  # plain.jpg twice more (once with a #fragment), loop.jpg once more
            "svg": 3,  # an <img>, an upper-case .SVG with a query, a <source type=image/svg+xml>
            "tracking_pixel": 1,
            "unsupported_scheme": 1,  # javascript:
        },
        "errors": {"http_404": 1, "http_500": 1, "api_throttled": 1, "api_server_error": 1},
        "pages_skipped": {"robots_txt": 1, "offsite": 1, "not_html": 1},
    }
    assert_polite(site)
    assert site.paths_requested().count("/broken") == 3  # the first try and two retries
    assert site.paths_requested().count("/") == 1  # link loops lead back, but it is read once

    # One batch was throttled and one hit a server error; both went through unchanged later.
    assert sorted(call.status for call in api.calls) == [202] * 6 + [429, 500]
    batches = [call.body for call in api.accepted]
    assert all(call.body in batches for call in api.calls if call.status != 202)
    assert [len(batch["items"]) for batch in batches] == [5, 5, 5, 5, 5, 4]
    assert {(b["source"], b["reference"]) for b in batches} == {("crawler", "crawl-run:site")}
    assert {call.authorization for call in api.calls} == {"Bearer test-token-not-a-secret"}
    submitted = {item["url"]: item for batch in batches for item in batch["items"]}
    assert set(submitted) == expected
    assert submitted[site.url("/img/hero-1600.jpg")] == {
        "url": site.url("/img/hero-1600.jpg"),
        "page_url": site.url("/patterns.html"),
        "alt": "Hero, largest by width",
    }
    assert submitted[site.url("/img/big-page-end.jpg")]["page_url"] == site.url("/big.html")
    assert submitted[site.url("/img/redirected.jpg")]["page_url"] == site.url("/moved.html")

    # The feed named every check the API created, each once, as it went along.
    fed_ids = [check_id for line in run.progress for check_id in line["check_ids"]]
    assert fed_ids == [call.check_id for call in api.accepted]
    assert not any(line["final"] for line in run.progress[:-1])
    pages = [line["pages"] for line in run.progress]
    assert pages == sorted(pages)


@pytest.mark.parametrize(
    "where",
    [
        {"sitemap_urls": ["/robots.txt"]},  # the Sitemap: line of robots.txt
        {"sitemap_urls": ["/sitemap_index.xml"]},  # the index itself
        {"start_urls": ["/"]},  # no sitemap named: robots.txt at the site's origin
    ],
    ids=["robots-txt", "sitemap-index", "start-url"],
)
def test_the_sitemap_spider_reads_the_pages_sitemaps_and_news_sitemaps_list(site, crawler, where):
    urls = {key: [site.url(path) for path in paths] for key, paths in where.items()}
    # A depth cap counts links followed: it must not cut the robots.txt -> index -> sitemap chain.
    run = crawler.run({"spider": "sitemap", **urls, **QUICK, "max_depth": 1})

    assert run.returncode == ExitCode.OK, run.log
    assert run.image_urls == expected_images(site, SITEMAP_PAGES)
    assert len(run.images) == len(run.image_urls)
    assert run.final == run.final | {
        "finish_reason": "finished",
        "pages": len(SITEMAP_PAGES),
        "images_found": 14,
        "images_submitted": 0,  # no api_url: the output file is all there is
        "dropped": {"data_uri": 1, "duplicate": 1},
        "errors": {"http_404": 1},
        "pages_skipped": {"robots_txt": 1},
    }
    requested = site.paths_requested()
    for sitemap in ("/sitemap-pages.xml", "/sitemap-news.xml", "/sitemap-extra.xml.gz"):
        assert requested.count(sitemap) == 1
    assert "/" not in requested  # sitemap pages only; no links followed
    assert_polite(site)


def test_the_pages_spider_reads_exactly_the_pages_it_is_given(site, crawler):
    pages = ["/lazy.html", "/picture.html", "/loop-a.html", "/missing"]
    run = crawler.run({"spider": "pages", "page_urls": [site.url(p) for p in pages], **QUICK})

    assert run.returncode == ExitCode.OK, run.log
    assert run.image_urls == expected_images(site, pages[:3])
    assert run.final == run.final | {
        "pages": 3,
        "images_found": 11,
        "dropped": {"svg": 1},
        "errors": {"http_404": 1},
    }
    assert "/loop-b.html" not in site.paths_requested()  # linked from loop-a, not followed


def test_the_page_cap_stops_the_crawl(site, crawler):
    run = crawler.run({"spider": "site", "start_urls": [site.url("/")], "max_pages": 3, **QUICK})

    assert run.returncode == ExitCode.OK, run.log
    assert run.final["finish_reason"] == "page_limit"
    assert run.final["pages"] == 3
    assert run.image_urls <= expected_images(site, LINKED_PAGES)


def test_the_depth_cap_keeps_the_crawl_near_its_start(site, crawler):
    run = crawler.run({"spider": "site", "start_urls": [site.url("/")], "max_depth": 1, **QUICK})

    assert run.returncode == ExitCode.OK, run.log
    assert run.final["pages"] == len(LINKED_PAGES) - 1  # loop-b is two links away
    assert "/loop-b.html" not in site.paths_requested()


def test_sigterm_ends_the_crawl_gracefully_flushing_the_last_batch(site, crawler, check_api):
    api = check_api()
    process = crawler.start(
        {
            "spider": "site",
            "start_urls": [site.url("/slow/0")],  # an endless chain of slow pages
            "max_depth": 0,
            "api_url": api.url,
            "batch_size": 100,  # so nothing is submitted before the cancellation
            **QUICK,
            "concurrency_per_domain": 1,
        }
    )
    deadline = time.monotonic() + 30
    while not any(line["pages"] >= 3 for line in crawler.progress()):
        assert process.poll() is None and time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, log = process.communicate(timeout=30)

    assert process.returncode == ExitCode.CANCELLED, log
    run = crawler.result(process.returncode, log)
    assert run.final["final"] is True
    assert run.final["finish_reason"] == "cancelled"
    assert run.final["images_found"] == run.final["pages"] >= 3  # one image per slow page
    assert run.final["images_submitted"] == run.final["images_found"]
    [flushed] = api.accepted
    assert {item["url"] for item in flushed.body["items"]} == run.image_urls
    assert run.final["check_ids"] == [flushed.check_id]


def test_a_refused_token_stops_the_crawl(site, crawler, check_api):
    api = check_api(token="the-token-the-platform-expects")
    job = {"spider": "site", "start_urls": [site.url("/")], "api_url": api.url, "batch_size": 5}
    run = crawler.run({**job, **QUICK})

    assert run.returncode == ExitCode.API_UNAUTHORIZED, run.log
    assert run.final["finish_reason"] == "api_unauthorized"
    assert run.final["images_submitted"] == 0
    # Never retried, and nothing sent after the refusal: only batches already on their way.
    assert 1 <= len(api.calls) <= MAX_BATCHES_IN_FLIGHT
    assert run.final["errors"]["api_unauthorized"] == len(api.calls)
    assert "The check API refused our token" in run.log


def test_a_job_that_cannot_run_exits_with_a_usage_error_before_crawling(site, crawler):
    run = crawler.run({"spider": "site", "max_pages": 5})

    assert run.returncode == ExitCode.USAGE
    assert "the site spider needs start_urls" in run.log
    assert run.progress == []
    assert site.paths_requested() == []
