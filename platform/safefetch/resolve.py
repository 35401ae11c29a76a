"""Name resolution behind an injectable `Resolver`, bounded in time and checked by the guard."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from ipaddress import ip_address

from safefetch.addresses import IPAddress, IPNetwork, canonical_address, check_address
from safefetch.errors import FetchError, FetchErrorCode

Resolver = Callable[[str, int], Sequence[IPAddress]]
"""Turns a host name and port into addresses; tests pass a stub, production `system_resolver`."""


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's resolver (`getaddrinfo`: /etc/hosts, then DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [ip_address(sockaddr[0]) for *_, sockaddr in infos]


def resolve_checked(
    host: str,
    port: int,
    *,
    resolver: Resolver,
    timeout: float,
    exempt_networks: Iterable[IPNetwork] = (),
) -> list[IPAddress]:
    """The addresses of `host`, in the resolver's order, once every one of them passed the guard.

    A host with even one blocked address is refused as a whole: a public name that also points
    inside the network is either misconfigured or an attack, and trying only its "good" half
    would let the attacker pick the moment the answer changes.
    """
    try:
        found = _call_within(timeout, resolver, host, port)
    except TimeoutError:
        raise FetchError(
            FetchErrorCode.TIMEOUT, f"Looking up the host name '{host}' took too long."
        ) from None
    except (OSError, UnicodeError):
        found = []
    if not found:
        raise FetchError(
            FetchErrorCode.HOST_UNRESOLVABLE, f"The host name '{host}' could not be found."
        )
    addresses = list(dict.fromkeys(canonical_address(address) for address in found))
    for address in addresses:
        check_address(address, exempt_networks=exempt_networks, host=host)
    return addresses


def _call_within(timeout: float, resolver: Resolver, host: str, port: int) -> Sequence[IPAddress]:
    """Run the resolver on a helper thread so a stalled DNS server cannot hold the caller.

    `getaddrinfo` takes no timeout of its own. When the time is up the lookup is abandoned (a
    daemon thread finishes it in the background) and the caller goes on.
    """
    outcome: queue.SimpleQueue[tuple[Sequence[IPAddress] | None, BaseException | None]]
    outcome = queue.SimpleQueue()

    def run() -> None:
        try:
            outcome.put((resolver(host, port), None))
        except BaseException as error:  # handed over to the caller's thread and re-raised there
            outcome.put((None, error))

    threading.Thread(target=run, name="safefetch-resolve", daemon=True).start()
    try:
        found, error = outcome.get(timeout=max(timeout, 0.0))
    except queue.Empty:
        raise TimeoutError from None
    if error is not None:
        raise error
    return found or []
