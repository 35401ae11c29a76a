"""Crawl targets and webhook URLs must be on the public internet, like every URL Verity fetches.

A job names URLs that a newsroom typed: checked when the job is saved and again when a run
starts (a name may resolve elsewhere by then), with the same address guard as image fetches.
A host that does not resolve at all is let through: the crawl reports it as a DNS error.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_address, ip_network

from django.conf import settings

from safefetch import (
    FetchError,
    FetchErrorCode,
    IPAddress,
    check_address,
    parse_target,
    system_resolver,
)
from safefetch.resolve import resolve_checked
from safefetch.urls import parse_ipv4_host

RESOLVE_TIMEOUT_SECONDS = 3.0


def blocked_urls(urls: Iterable[str]) -> list[str]:
    """A sentence for each URL that is malformed or leads inside the network."""
    problems = []
    for url in urls:
        try:
            target = parse_target(url)
            _check_host(target.host, target.port, target.address)
        except FetchError as error:
            problems.append(f"{url}: {error.message}")
    return problems


def blocked_domains(domains: Iterable[str]) -> list[str]:
    """A sentence for each allowed domain that leads inside the network."""
    problems = []
    for domain in domains:
        try:
            host = domain.strip().lower().rstrip(".")
            _check_host(host, 80, _ip_literal(host))
        except FetchError as error:
            problems.append(f"allowed domain {domain}: {error.message}")
    return problems


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return parse_ipv4_host(host)  # also 2130706433, 0x7f.1 and other spellings


def _check_host(host: str, port: int, address: IPAddress | None) -> None:
    exempt = frozenset(ip_network(network) for network in settings.VERITY_FETCH_ALLOW_NETWORKS)
    if address is not None:
        check_address(address, exempt_networks=exempt)
        return
    try:
        resolve_checked(
            host,
            port,
            resolver=system_resolver,
            timeout=RESOLVE_TIMEOUT_SECONDS,
            exempt_networks=exempt,
        )
    except FetchError as error:
        if error.code == FetchErrorCode.ADDRESS_BLOCKED:
            raise
