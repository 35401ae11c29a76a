"""How untrusted URLs are read: numeric host spellings, tricks, and what is refused outright."""

from __future__ import annotations

import ipaddress

import pytest

from safefetch import FetchError, parse_target
from safefetch.urls import parse_ipv4_host
from tests.safefetch.support import assert_readable


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),  # one decimal number
        ("0x7f000001", "127.0.0.1"),  # one hexadecimal number
        ("017700000001", "127.0.0.1"),  # one octal number
        ("0x7f.1", "127.0.0.1"),  # two parts: the last fills three bytes
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal first part
        ("0x7F.0.0.0x1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),  # trailing dot
        ("0", "0.0.0.0"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("93.184.215.14", "93.184.215.14"),
    ],
)
def test_numeric_hosts_are_read_as_browsers_read_them(host: str, address: str) -> None:
    assert parse_ipv4_host(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize("host", ["example.com", "images.example", "0x.example", "a1.b2"])
def test_host_names_are_not_numbers(host: str) -> None:
    assert parse_ipv4_host(host) is None


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3.4.5", "1.2.3.08", "1.16777216", "a.0x1"])
def test_hosts_ending_in_a_number_must_be_valid_addresses(host: str) -> None:
    with pytest.raises(ValueError):
        parse_ipv4_host(host)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTP://Images.Example.COM:80/a.jpg", "http://images.example.com/a.jpg"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:8443/x?y=1#fragment", "https://example.com:8443/x?y=1"),
        ("http://example.com/a b/ç.jpg", "http://example.com/a%20b/%C3%A7.jpg"),
        ("  http://example.com/\n", "http://example.com/"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://[2606:4700::1111]/x", "http://[2606:4700::1111]/x"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "http://127.0.0.1/"),  # full-width
    ],
)
def test_urls_are_normalised(url: str, normalised: str) -> None:
    assert parse_target(url).url == normalised


def test_a_target_knows_what_to_send() -> None:
    target = parse_target("https://Example.com:8443/path?q=1")
    assert (target.host, target.port, target.request_target) == ("example.com", 8443, "/path?q=1")
    assert target.host_header == "example.com:8443"
    assert target.address is None
    literal = parse_target("http://[::ffff:127.0.0.1]/")
    assert literal.address == ipaddress.ip_address("::ffff:127.0.0.1")
    assert literal.host_header == "[::ffff:7f00:1]"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("ftp://example.com/a.jpg", "scheme_not_allowed"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme_not_allowed"),
        ("javascript:alert(1)", "scheme_not_allowed"),
        ("data:image/png;base64,iVBORw0KGgo=", "scheme_not_allowed"),
        ("dict://127.0.0.1:11211/stat", "scheme_not_allowed"),
        ("example.com/a.jpg", "url_invalid"),
        ("//example.com/a.jpg", "url_invalid"),
        ("http://", "url_invalid"),
        ("http:///a.jpg", "url_invalid"),
        ("http://user:secret@example.com/", "url_invalid"),
        ("http://example.com@127.0.0.1/", "url_invalid"),
        ("http://example.com\\@127.0.0.1/", "url_invalid"),
        ("http://exa\tmple.com/", "url_invalid"),
        ("http://example.com:99999/", "url_invalid"),
        ("http://example.com:0/", "url_invalid"),
        ("http://example.com:http/", "url_invalid"),
        ("http://%31%32%37.0.0.1/", "url_invalid"),
        ("http://[fe80::1%25eth0]/", "url_invalid"),
        ("http://[::1/", "url_invalid"),
        ("http://256.0.0.1/", "url_invalid"),
        ("http://exa_mple..com/", "url_invalid"),
        ("http://" + "a" * 64 + ".example/", "url_invalid"),
        ("http://example.com/" + "a" * 5000, "url_invalid"),
    ],
)
def test_unusable_urls_are_refused_before_any_lookup(url: str, code: str) -> None:
    with pytest.raises(FetchError) as refused:
        parse_target(url)
    assert refused.value.code == code
    assert_readable(refused.value)


def test_ports_can_be_restricted() -> None:
    assert parse_target("https://example.com/", allowed_ports={80, 443}).port == 443
    with pytest.raises(FetchError) as refused:
        parse_target("http://example.com:6379/", allowed_ports={80, 443})
    assert refused.value.code == "port_not_allowed"
    assert_readable(refused.value)
