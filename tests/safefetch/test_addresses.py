"""The address guard: which IPs may be fetched, decided without touching the network."""

from __future__ import annotations

import ipaddress

import pytest

from safefetch import FetchError, blocked_reason, check_address
from tests.safefetch.support import assert_readable

BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.170.2", "container metadata"),
    ("100.100.100.200", "Alibaba"),
    ("192.0.0.192", "Oracle"),
    ("169.254.1.1", "link-local"),
    ("0.0.0.0", "'this network'"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.10", "documentation"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::127.0.0.1", "reserved"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "unique local"),
    ("fd00:ec2::254", "AWS metadata"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("2001::1", "Teredo"),
    ("100::1", "discard"),
    ("64:ff9b:1::1", "NAT64"),
    ("64:ff9b::7f00:1", "leads to 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "leads to 169.254.169.254"),
    ("2002:a00:1::1", "leads to 10.0.0.1"),
    ("2002:7f00:1::", "leads to 127.0.0.1"),
    ("4000::1", "reserved IPv6"),
]

PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped, judged by the IPv4 address it leads to
    "64:ff9b::808:808",  # NAT64 to a public address: what DNS64 networks hand out
    "2002:808:808::1",  # 6to4 wrapping a public address
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_non_public_addresses_are_blocked_with_a_reason(address: str, reason: str) -> None:
    assert reason in (blocked_reason(ipaddress.ip_address(address)) or "")
    with pytest.raises(FetchError) as refused:
        check_address(address)
    assert refused.value.code == "address_blocked"
    assert_readable(refused.value)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None
    check_address(address)


def test_the_message_names_the_host_and_the_address_it_resolved_to() -> None:
    with pytest.raises(FetchError) as refused:
        check_address("10.1.2.3", host="intranet.example")
    assert "'intranet.example' resolves to 10.1.2.3" in refused.value.message
    assert "private network" in refused.value.message


def test_exempt_networks_let_tests_reach_loopback_and_nothing_more() -> None:
    loopback = [ipaddress.ip_network("127.0.0.0/8")]
    check_address("127.0.0.1", exempt_networks=loopback)
    check_address("::ffff:127.0.0.1", exempt_networks=loopback)
    with pytest.raises(FetchError):
        check_address("10.0.0.1", exempt_networks=loopback)
    with pytest.raises(FetchError):
        check_address("::1", exempt_networks=loopback)
