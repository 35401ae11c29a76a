"""The SSRF suite: links aimed inside the network end as `address_blocked`, with no packet sent.

Names resolve through a stub resolver (or /etc/hosts for `localhost`), and the autouse
`connections` guard fails any connect to an address other than loopback, so every assertion
that `connections.attempts` is empty proves the guard decided before the network was touched.
"""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from safefetch import DEFAULT_POLICY, FetchError, IPAddress, safe_get
from tests.safefetch.support import (
    TEST_POLICY,
    ConnectionLog,
    LocalServer,
    assert_readable,
    resolver_from,
)

ATTACKER_DNS = resolver_from(
    {
        "metadata.google.internal": ["169.254.169.254"],
        "loopback.attacker.example": ["127.0.0.1"],
        "intranet.attacker.example": ["10.20.30.40"],
        "mixed.attacker.example": ["93.184.215.14", "192.168.1.10"],
        "v6-loopback.attacker.example": ["::1"],
        "mapped.attacker.example": ["::ffff:10.0.0.1"],
        "nat64.attacker.example": ["64:ff9b::a9fe:a9fe"],
        "sixtofour.attacker.example": ["2002:c0a8:101::1"],
        "ula.attacker.example": ["fd12:3456::1"],
        "cgnat.attacker.example": ["100.64.1.1"],
        "empty.attacker.example": [],
    }
)

BLOCKED_LINKS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:6379/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://017700000001/",
    "http://127.1/",
    "http://0/",
    "http://0.0.0.0:8000/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/admin",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://0xa9fea9fe/latest/meta-data/",
    "http://169.254.43518/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://192.0.0.192/opc/v2/instance/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "https://localhost/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://loopback.attacker.example/",
    "http://intranet.attacker.example/",
    "http://mixed.attacker.example/",
    "http://v6-loopback.attacker.example/",
    "http://mapped.attacker.example/",
    "http://nat64.attacker.example/",
    "http://sixtofour.attacker.example/",
    "http://ula.attacker.example/",
    "http://cgnat.attacker.example/",
]


def _system_or_attacker_dns(host: str, port: int) -> list[IPAddress]:
    if host == "localhost":  # the real resolver, answering from /etc/hosts
        from safefetch import system_resolver

        return system_resolver(host, port)
    return list(ATTACKER_DNS(host, port))


@pytest.mark.parametrize("url", BLOCKED_LINKS)
def test_links_into_the_network_are_refused_before_connecting(
    url: str, connections: ConnectionLog
) -> None:
    with pytest.raises(FetchError) as refused:
        safe_get(url, resolver=_system_or_attacker_dns)

    assert refused.value.code == "address_blocked"
    assert refused.value.url is not None
    assert "Verity only fetches from the public internet" in refused.value.message
    assert_readable(refused.value)
    assert connections.attempts == []


@pytest.mark.parametrize("host", ["no-such-host.example", "empty.attacker.example"])
def test_names_that_do_not_resolve_are_reported(host: str, connections: ConnectionLog) -> None:
    with pytest.raises(FetchError) as failure:
        safe_get(f"http://{host}/cat.jpg", resolver=ATTACKER_DNS)
    assert failure.value.code == "host_unresolvable"
    assert_readable(failure.value)
    assert connections.attempts == []


def test_addresses_written_as_numbers_never_reach_the_resolver() -> None:
    def resolver_that_must_not_run(host: str, port: int) -> list[IPAddress]:
        raise AssertionError(f"{host!r} was sent to the resolver")

    for url in ("http://2130706433/", "http://0x7f.1/", "http://[::1]/", "http://127.1/"):
        with pytest.raises(FetchError):
            safe_get(url, resolver=resolver_that_must_not_run)


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://0xa9fea9fe/",
        "http://intranet.attacker.example/",
        "http://[::ffff:169.254.169.254]/",
        "http://192.168.0.1/",
    ],
)
def test_every_redirect_is_checked_again(
    local_server: LocalServer, connections: ConnectionLog, location: str
) -> None:
    url = local_server.redirect("/innocent.jpg", location)

    with pytest.raises(FetchError) as refused:
        safe_get(url, policy=TEST_POLICY, resolver=ATTACKER_DNS)

    assert refused.value.code == "address_blocked"
    assert "redirected to" in refused.value.message
    assert_readable(refused.value)
    assert connections.attempts == ["127.0.0.1"]  # the test server, and nothing after it


def test_a_redirect_to_the_same_name_is_resolved_and_checked_again(
    local_server: LocalServer, connections: ConnectionLog
) -> None:
    """DNS rebinding across a redirect: the second answer points inside and is refused."""
    local_server.redirect("/first.jpg", "/second.jpg")
    answers = itertools.chain([["127.0.0.1"]], itertools.repeat(["10.0.0.1"]))

    def rebinding_dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in next(answers)]

    url = local_server.url("/first.jpg", host="rebind.attacker.example")
    with pytest.raises(FetchError) as refused:
        safe_get(url, policy=TEST_POLICY, resolver=rebinding_dns)

    assert refused.value.code == "address_blocked"
    assert connections.attempts == ["127.0.0.1"]


def test_the_connection_goes_to_the_address_that_was_checked(
    local_server: LocalServer, connections: ConnectionLog
) -> None:
    """No second lookup: a name that would answer differently the next time cannot win."""
    local_server.serve("/cat.jpg", b"\xff\xd8\xff")
    answers = itertools.chain([["127.0.0.1"]], itertools.repeat(["169.254.169.254"]))

    def rebinding_dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in next(answers)]

    url = local_server.url("/cat.jpg", host="rebind.attacker.example")
    resource = safe_get(url, policy=TEST_POLICY, resolver=rebinding_dns)

    assert resource.peer_ip == "127.0.0.1"
    assert connections.attempts == ["127.0.0.1"]


def test_the_production_policy_exempts_nothing() -> None:
    assert DEFAULT_POLICY.exempt_networks == frozenset()
