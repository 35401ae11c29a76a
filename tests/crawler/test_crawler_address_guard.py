"""The crawl cannot be steered inside the network: links, redirects and host names that lead to
private, loopback (outside the exemption), link-local or metadata addresses are refused before
any connection, with the platform fetcher's own rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address, ip_network

import pytest
from scrapy.statscollectors import MemoryStatsCollector

from crawler.middlewares import AddressGuardMiddleware


class _Stats(MemoryStatsCollector):
    def __init__(self) -> None:
        self._stats: dict = {}


def guard(resolve: dict[str, list[str]], exempt: tuple[str, ...] = ()) -> AddressGuardMiddleware:
    def resolver(host: str, port: int) -> list:
        if host not in resolve:
            raise AssertionError(f"unexpected lookup of {host}")
        return [ip_address(a) for a in resolve[host]]

    return AddressGuardMiddleware(
        frozenset(ip_network(n) for n in exempt), _Stats(), resolver=resolver
    )


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        ("http://intranet.example/", {"intranet.example": ["10.1.2.3"]}),
        ("http://metadata.example/latest/", {"metadata.example": ["169.254.169.254"]}),
        ("http://mixed.example/", {"mixed.example": ["93.184.216.34", "192.168.1.1"]}),
        ("http://v6.example/", {"v6.example": ["::ffff:127.0.0.1"]}),
        ("http://2130706433/", {"127.0.0.1": ["127.0.0.1"]}),
        ("http://[::1]:8080/", {"::1": ["::1"]}),
    ],
)
def test_hosts_inside_the_network_are_refused(url: str, answers: dict[str, list[str]]) -> None:
    middleware = guard(answers)

    refusal = middleware.refusal(url)

    assert refusal is not None and "Verity only fetches from the public internet" in refusal


def test_public_hosts_and_exempt_networks_pass() -> None:
    middleware = guard(
        {"news.example": ["93.184.216.34"], "127.0.0.1": ["127.0.0.1"]}, exempt=("127.0.0.1/32",)
    )

    assert middleware.refusal("https://news.example/a") is None
    assert middleware.refusal("http://127.0.0.1:8000/") is None


@pytest.fixture
def site() -> Iterator[str]:
    """A page linking to loopback addresses outside the crawl's exemption, and redirecting there."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            port = self.server.server_address[1]
            if self.path == "/":
                body = (
                    f'<a href="/ok.html">ok</a> <a href="/hop">hop</a>'
                    f'<a href="http://127.0.0.2:{port}/inside.html">inside</a>'
                ).encode()
            elif self.path == "/ok.html":
                body = b'<img src="/photo.jpg" width="300" height="200">'
            elif self.path == "/hop":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.3:{port}/after-hop.html")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_real_crawl_refuses_links_and_redirects_into_the_network(site: str, crawler) -> None:
    run = crawler.run(
        {
            "spider": "site",
            "start_urls": [site + "/"],
            "obey_robots": False,
            "download_delay": 0,
            "autothrottle": False,
            "allowed_domains": ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
        }
    )

    assert run.final["pages_skipped"].get("address_blocked") == 2, run.log[-2000:]
    assert run.image_urls == {site + "/photo.jpg"}
    assert run.final["pages"] == 2  # "/" and "/ok.html"; the redirect hop itself is not a page
