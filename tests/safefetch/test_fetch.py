"""Fetching from real local servers: bodies, redirects, limits, timeouts, TLS and webhooks."""

from __future__ import annotations

import dataclasses
import gzip
import socket
import time

import pytest

from safefetch import DEFAULT_POLICY, FetchError, FetchPolicy, safe_get, safe_request
from tests.safefetch.support import (
    TEST_POLICY,
    ConnectionLog,
    LocalServer,
    RequestHandler,
    assert_readable,
    resolver_from,
)

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # content does not matter to the fetcher
QUICK = dataclasses.replace(TEST_POLICY, total_timeout=1.0, connect_timeout=0.5)


def fetch_error(url: str, policy: FetchPolicy = TEST_POLICY, **options: object) -> FetchError:
    with pytest.raises(FetchError) as failure:
        safe_get(url, policy=policy, **options)  # type: ignore[arg-type]
    assert_readable(failure.value)
    assert failure.value.url  # which link failed, for the item error
    return failure.value


# --- the happy path ---------------------------------------------------------------------------


def test_a_file_is_fetched_with_what_the_caller_needs_to_know(local_server: LocalServer) -> None:
    url = local_server.serve("/cat.png", PICTURE, content_type="image/png")

    resource = safe_get(url, policy=TEST_POLICY)

    assert resource.body == PICTURE
    assert (resource.status, resource.content_type) == (200, "image/png")
    assert (resource.url, resource.redirects, resource.peer_ip) == (url, (), "127.0.0.1")


def test_the_request_names_the_host_and_asks_for_an_uncompressed_body(
    local_server: LocalServer,
) -> None:
    url = local_server.serve("/cat.png", PICTURE)

    safe_get(url, policy=TEST_POLICY, headers={"Accept": "image/*", "host": "evil.example"})

    headers = local_server.requests[0].headers
    assert headers["Host"] == f"127.0.0.1:{local_server.port}"
    assert headers["Accept-Encoding"] == "identity"
    assert headers["Accept"] == "image/*"
    assert headers["User-Agent"].startswith("Verity/")


def test_ipv6_loopback_works_like_ipv4(local_server_v6: LocalServer) -> None:
    url = local_server_v6.serve("/cat.png", PICTURE)
    assert safe_get(url, policy=TEST_POLICY).peer_ip == "::1"


def test_a_host_name_is_resolved_once_and_connected_to_by_address(
    local_server: LocalServer, connections: ConnectionLog
) -> None:
    local_server.serve("/cat.png", PICTURE)
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list:  # type: ignore[type-arg]
        lookups.append(host)
        return resolver_from({"images.example": ["127.0.0.1"]})(host, port)

    url = local_server.url("/cat.png", host="images.example")
    resource = safe_get(url, policy=TEST_POLICY, resolver=resolver)

    assert resource.body == PICTURE
    assert lookups == ["images.example"]
    assert connections.attempts == ["127.0.0.1"]
    assert local_server.requests[0].headers["Host"] == f"images.example:{local_server.port}"


def test_a_compressed_body_is_decoded_even_though_we_asked_for_identity(
    local_server: LocalServer,
) -> None:
    url = local_server.serve(
        "/cat.png", gzip.compress(PICTURE), headers={"Content-Encoding": "gzip"}
    )
    assert safe_get(url, policy=TEST_POLICY).body == PICTURE


# --- redirects --------------------------------------------------------------------------------


def test_relative_and_absolute_redirects_are_followed(local_server: LocalServer) -> None:
    final = local_server.serve("/images/cat.png", PICTURE)
    second = local_server.redirect("/moved", final, status=301)
    first = local_server.redirect("/start", "moved", status=307)

    resource = safe_get(first, policy=TEST_POLICY)

    assert resource.body == PICTURE
    assert resource.url == final
    assert resource.redirects == (first, second)


def test_five_redirects_are_followed(local_server: LocalServer) -> None:
    local_server.serve("/5", PICTURE)
    for hop in range(5):
        local_server.redirect(f"/{hop}", f"/{hop + 1}")
    assert len(safe_get(local_server.url("/0"), policy=TEST_POLICY).redirects) == 5


def test_a_sixth_redirect_is_refused(local_server: LocalServer) -> None:
    local_server.serve("/6", PICTURE)
    for hop in range(6):
        local_server.redirect(f"/{hop}", f"/{hop + 1}")
    assert fetch_error(local_server.url("/0")).code == "too_many_redirects"


def test_a_redirect_loop_ends(local_server: LocalServer) -> None:
    url = local_server.redirect("/loop", "/loop")
    assert fetch_error(url).code == "too_many_redirects"
    assert len(local_server.requests) == 6


def test_redirects_are_not_followed_for_a_webhook_post(local_server: LocalServer) -> None:
    local_server.serve("/elsewhere", b"")
    url = local_server.redirect("/hook", "/elsewhere", status=307)
    with pytest.raises(FetchError) as failure:
        safe_request("POST", url, body=b"{}", policy=TEST_POLICY)
    assert failure.value.code == "http_status"
    assert [request.path for request in local_server.requests] == ["/hook"]


def test_a_redirect_without_a_target_is_invalid(local_server: LocalServer) -> None:
    url = local_server.route("/nowhere", lambda r: r.answer(b"", status=302))
    assert fetch_error(url).code == "redirect_invalid"


def test_a_redirect_to_a_malformed_address_is_invalid(local_server: LocalServer) -> None:
    url = local_server.redirect("/broken", "http://[::1/x")
    assert fetch_error(url).code == "redirect_invalid"


def test_a_redirect_to_a_local_file_is_refused(local_server: LocalServer) -> None:
    url = local_server.redirect("/passwd", "file:///etc/passwd")
    assert fetch_error(url).code == "scheme_not_allowed"


def test_the_status_of_a_failed_answer_is_reported(local_server: LocalServer) -> None:
    missing = fetch_error(local_server.url("/missing"))
    assert missing.code == "http_status"
    assert "404 (Not Found)" in missing.message
    url = local_server.route("/boom", lambda r: r.answer(b"oops", status=500))
    assert "500" in fetch_error(url).message


# --- limits -----------------------------------------------------------------------------------


def test_a_body_announced_as_too_large_is_refused_unread(local_server: LocalServer) -> None:
    url = local_server.serve("/huge.jpg", b"x" * 2_000_001)
    policy = dataclasses.replace(TEST_POLICY, max_bytes=2_000_000)
    error = fetch_error(url, policy)
    assert error.code == "too_large"
    assert "2 MB" in error.message


def test_a_body_without_a_length_is_cut_off_at_the_cap(local_server: LocalServer) -> None:
    def endless(request: RequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.send_header("Connection", "close")  # no length: the body ends when we close
        request.end_headers()
        chunk = b"\xff" * 65536
        while not request.server.stopping.is_set():
            request.wfile.write(chunk)

    url = local_server.route("/endless.jpg", endless)
    policy = dataclasses.replace(TEST_POLICY, max_bytes=1_000_000)
    assert fetch_error(url, policy).code == "too_large"


def test_a_content_length_understating_the_body_is_not_trusted(local_server: LocalServer) -> None:
    def understated(request: RequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "10")
        request.send_header("Transfer-Encoding", "chunked")  # and then a chunked body
        request.end_headers()
        for _ in range(40):
            request.wfile.write(b"10000\r\n" + b"a" * 65536 + b"\r\n")
        request.wfile.write(b"0\r\n\r\n")

    url = local_server.route("/understated.jpg", understated)
    policy = dataclasses.replace(TEST_POLICY, max_bytes=1_000_000)
    assert fetch_error(url, policy).code == "too_large"


def test_a_gzip_bomb_stops_at_the_cap(local_server: LocalServer) -> None:
    bomb = gzip.compress(bytes(200_000_000), compresslevel=9)  # 200 MB of zeros in ~200 kB
    url = local_server.serve("/bomb.jpg", bomb, headers={"Content-Encoding": "gzip"})

    error = fetch_error(url)

    assert error.code == "too_large"
    assert len(bomb) < 300_000


def test_a_body_cut_short_is_a_connection_failure(local_server: LocalServer) -> None:
    def cut(request: RequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        request.wfile.write(b"\xff\xd8" * 100)
        request.close_connection = True

    url = local_server.route("/cut.jpg", cut)
    assert fetch_error(url).code == "connection_failed"


def test_a_response_that_is_not_http_is_invalid(local_server: LocalServer) -> None:
    def garbage(request: RequestHandler) -> None:
        request.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n" * 3)
        request.close_connection = True

    url = local_server.route("/ssh", garbage)
    assert fetch_error(url).code == "invalid_response"


# --- time -------------------------------------------------------------------------------------


def _drip(headers_first: bool) -> object:
    def drip(request: RequestHandler) -> None:
        if headers_first:
            request.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        else:
            request.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not request.server.stopping.wait(0.05):  # one byte every 50 ms, for ever
            request.wfile.write(b"X-Drip: 1\r\n"[:1] if not headers_first else b"\xff")
            request.wfile.flush()

    return drip


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_slow_drip_cannot_hold_a_worker(local_server: LocalServer, where: str) -> None:
    url = local_server.route(f"/drip-{where}", _drip(headers_first=where == "body"))  # type: ignore[arg-type]

    started = time.monotonic()
    error = fetch_error(url, QUICK)

    assert error.code == "timeout"
    assert time.monotonic() - started < QUICK.total_timeout + 1.0  # slack for a busy machine


def test_a_server_that_never_answers_times_out(local_server: LocalServer) -> None:
    url = local_server.route("/silent", lambda r: r.server.stopping.wait(30) and None)  # type: ignore[func-returns-value]

    started = time.monotonic()
    error = fetch_error(url, QUICK)

    assert error.code == "timeout"
    assert time.monotonic() - started < QUICK.total_timeout + 1.0  # slack for a busy machine


def test_a_resolver_that_hangs_times_out() -> None:
    def stalled_dns(host: str, port: int) -> list:  # type: ignore[type-arg]
        time.sleep(5)
        return []

    started = time.monotonic()
    error = fetch_error("http://slow-dns.example/cat.jpg", QUICK, resolver=stalled_dns)

    assert error.code == "timeout"
    assert time.monotonic() - started < QUICK.total_timeout + 1.0  # slack for a busy machine


# --- webhooks ---------------------------------------------------------------------------------


def test_a_webhook_delivers_its_body(local_server: LocalServer) -> None:
    url = local_server.serve("/hook", b"ok", content_type="text/plain")

    resource = safe_request(
        "POST",
        url,
        body=b'{"check": 1}',
        headers={"Content-Type": "application/json"},
        policy=TEST_POLICY,
    )

    assert resource.body == b"ok"
    request = local_server.requests[0]
    assert (request.method, request.body) == ("POST", b'{"check": 1}')
    assert request.headers["Content-Type"] == "application/json"


# --- the default policy -----------------------------------------------------------------------


def test_the_production_policy_refuses_the_same_local_server(
    local_server: LocalServer, connections: ConnectionLog
) -> None:
    url = local_server.serve("/cat.png", PICTURE)
    assert fetch_error(url, DEFAULT_POLICY).code == "address_blocked"
    assert connections.attempts == []
    assert local_server.requests == []


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_port_is_a_connection_failure() -> None:
    error = fetch_error(f"http://127.0.0.1:{_unused_port()}/cat.png")
    assert error.code == "connection_failed"
    assert "refused" in error.message
