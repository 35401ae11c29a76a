"""Which IP addresses may be fetched: the pure policy at the heart of the SSRF guard.

The rule is an explicit deny list taken from the IANA special-purpose registries (IPv4 and IPv6)
plus the cloud metadata endpoints, with the `ipaddress` properties as a second net. The explicit
list is the source of truth because the `is_global`/`is_private` tables differ between Python
patch releases (3.11.7 calls 224.0.0.1, 192.0.0.192 and fec0::1 "global", for example).

Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped `::ffff:a.b.c.d`, NAT64
`64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by the IPv4 address they lead to.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from safefetch.errors import FetchError, FetchErrorCode

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_CLOUD_METADATA: dict[IPAddress, str] = {
    ip_address("169.254.169.254"): "the cloud metadata service (AWS, Google Cloud, Azure, ...)",
    ip_address("169.254.170.2"): "the AWS container metadata service",
    ip_address("fd00:ec2::254"): "the AWS metadata service (IPv6)",
    ip_address("100.100.100.200"): "the Alibaba Cloud metadata service",
    ip_address("192.0.0.192"): "the Oracle Cloud metadata service",
}

_BLOCKED_RANGES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (IPv4Network(network) if "." in network else IPv6Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private network address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address (the server itself)"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private network address"),
        ("192.0.0.0/24", "an address reserved for IETF protocols"),
        ("192.0.2.0/24", "an address reserved for documentation"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("192.168.0.0/16", "a private network address"),
        ("198.18.0.0/15", "an address reserved for benchmarking"),
        ("198.51.100.0/24", "an address reserved for documentation"),
        ("203.0.113.0/24", "an address reserved for documentation"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::1/128", "a loopback address (the server itself)"),
        ("::/128", "the unspecified address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/23", "an address reserved for IETF protocols (Teredo and others)"),
        ("2001:db8::/32", "an address reserved for documentation"),
        ("3fff::/20", "an address reserved for documentation"),
        ("5f00::/16", "a segment-routing address"),
        ("fc00::/7", "a private network address (unique local)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
        ("::/8", "a reserved IPv6 address"),  # after the more specific ranges inside it
    )
)

# Every public IPv6 unicast address lies in 2000::/3; anything outside it is not the internet.
_IPV6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")


def canonical_address(address: IPAddress) -> IPAddress:
    """The address a connection really reaches: IPv4-mapped IPv6 becomes plain IPv4."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            return IPv6Address(address.compressed.split("%", 1)[0])
    return address


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a translating IPv6 address (NAT64, 6to4) will forward to."""
    if address in _NAT64_WELL_KNOWN:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def blocked_reason(address: IPAddress) -> str | None:
    """Why `address` must not be fetched (a phrase for a person), or None when it is public."""
    address = canonical_address(address)
    if address in _CLOUD_METADATA:
        return _CLOUD_METADATA[address]
    if isinstance(address, IPv6Address) and (embedded := _embedded_ipv4(address)) is not None:
        inner = blocked_reason(embedded)
        return f"an IPv6 address that leads to {embedded}, {inner}" if inner else None
    for network, reason in _BLOCKED_RANGES:
        if address in network:
            return reason
    if isinstance(address, IPv6Address) and address not in _IPV6_GLOBAL_UNICAST:
        return "a reserved IPv6 address"
    if address.is_multicast or address.is_reserved or not address.is_global:
        return "a reserved or non-public address"
    return None


def is_exempt(address: IPAddress, exempt_networks: Iterable[IPNetwork]) -> bool:
    """True when `address` lies in one of the networks a policy lets through anyway."""
    address = canonical_address(address)
    return any(address in network for network in exempt_networks)


def check_address(
    address: IPAddress | str,
    *,
    exempt_networks: Iterable[IPNetwork] = (),
    host: str | None = None,
) -> None:
    """Raise `FetchError(address_blocked)` unless `address` is a public internet address.

    `exempt_networks` lets tests reach their own 127.0.0.1 server; production passes nothing.
    `host` only improves the message ("images.example resolves to 10.0.0.5, ...").
    """
    ip = ip_address(address) if isinstance(address, str) else address
    if is_exempt(ip, exempt_networks):
        return
    reason = blocked_reason(ip)
    if reason is None:
        return
    shown = canonical_address(ip)
    subject = f"'{host}' resolves to {shown}, which" if host and host != str(shown) else shown
    raise FetchError(
        FetchErrorCode.ADDRESS_BLOCKED,
        f"The link cannot be fetched: {subject} is {reason}."
        " Verity only fetches from the public internet.",
    )
