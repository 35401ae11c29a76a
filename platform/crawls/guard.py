"""Crawl targets and webhook URLs must be on the public internet, like every URL Verity fetches.

A job names URLs that a newsroom typed: checked when the job is saved and again when a run
starts (a name may resolve elsewhere by then), with the same address guard as image fetches.
Each host is looked up once however many URLs name it. A host that does not resolve at all is
let through: the crawl reports it as a DNS error.
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


class _HostChecker:
    """Checks hosts against the address guard, remembering each answer."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, int], str | None] = {}
        self._exempt = frozenset(ip_network(n) for n in settings.VERITY_FETCH_ALLOW_NETWORKS)

    def problem(self, host: str, port: int, address: IPAddress | None) -> str | None:
        """Why the host is refused (a sentence), or None."""
        key = (host, port)
        if key not in self._answers:
            self._answers[key] = self._check(host, port, address)
        return self._answers[key]

    def _check(self, host: str, port: int, address: IPAddress | None) -> str | None:
        try:
            if address is not None:
                check_address(address, exempt_networks=self._exempt)
            else:
                resolve_checked(
                    host,
                    port,
                    resolver=system_resolver,
                    timeout=RESOLVE_TIMEOUT_SECONDS,
                    exempt_networks=self._exempt,
                )
        except FetchError as error:
            if error.code == FetchErrorCode.ADDRESS_BLOCKED:
                return error.message
        return None


def blocked_urls(urls: Iterable[str]) -> list[str]:
    """A sentence for each URL that is malformed or leads inside the network."""
    checker = _HostChecker()
    problems = []
    for url in urls:
        try:
            target = parse_target(url)
        except FetchError as error:
            problems.append(f"{url}: {error.message}")
            continue
        problem = checker.problem(target.host, target.port, target.address)
        if problem is not None:
            problems.append(f"{url}: {problem}")
    return problems


def blocked_domains(domains: Iterable[str]) -> list[str]:
    """A sentence for each allowed domain that leads inside the network."""
    checker = _HostChecker()
    problems = []
    for domain in domains:
        host = domain.strip().lower().rstrip(".")
        problem = checker.problem(host, 80, _ip_literal(host))
        if problem is not None:
            problems.append(f"allowed domain {domain}: {problem}")
    return problems


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return parse_ipv4_host(host)  # also 2130706433, 0x7f.1 and other spellings
