"""The wire: connections to checked addresses under a deadline, and what their failures mean.

urllib3 is used one connection at a time (no pool, no retries, no redirects, no proxies), so
nothing but `client` decides where a packet goes.
"""

from __future__ import annotations

import math
import socket
import ssl
from http.client import HTTPException
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import DecodeError, HTTPError, NewConnectionError, ProtocolError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from safefetch.addresses import IPAddress
from safefetch.deadline import Deadline
from safefetch.errors import FetchError, FetchErrorCode
from safefetch.policy import FetchPolicy
from safefetch.urls import Target

TRANSPORT_ERRORS = (OSError, HTTPException, HTTPError)
"""What sockets, TLS, http.client and urllib3 raise; `as_fetch_error` translates them."""


def open_connection(
    target: Target, addresses: list[IPAddress], policy: FetchPolicy, deadline: Deadline
) -> tuple[HTTPConnection, IPAddress]:
    """A connection to the first of `addresses` that answers (TLS included), and its address."""
    failure: BaseException | None = None
    for address in addresses:
        connection = _connection_to(address, target, policy, deadline)
        try:
            connection.connect()
        except TRANSPORT_ERRORS as error:
            connection.close()
            if _is_tls_failure(error) or deadline.expired:
                raise as_fetch_error(error, target, policy, deadline) from error
            failure = error
            continue
        # Each read may now wait as long as the fetch has left; the deadline bounds the sum.
        connection.timeout = _patience(deadline)
        return connection, address
    assert failure is not None, "resolution always yields at least one address"
    raise as_fetch_error(failure, target, policy, deadline) from failure


def _connection_to(
    address: IPAddress, target: Target, policy: FetchPolicy, deadline: Deadline
) -> HTTPConnection:
    timeout = _patience(deadline, at_most=policy.connect_timeout)
    if target.scheme == "http":
        return _WatchedHTTPConnection(str(address), target.port, timeout=timeout, deadline=deadline)
    return _WatchedHTTPSConnection(
        str(address),
        target.port,
        timeout=timeout,
        deadline=deadline,
        server_hostname=target.host,  # SNI, and the name the certificate must carry
        cert_reqs="CERT_REQUIRED",
        ca_certs=policy.ca_certs,
    )


def _patience(deadline: Deadline, at_most: float = math.inf) -> float:
    """A socket timeout within what is left; never 0, which would make the socket non-blocking."""
    return max(min(deadline.remaining(), at_most), 0.01)


class _WatchedHTTPConnection(HTTPConnection):
    """urllib3's connection, handing each socket it opens to the fetch's `Deadline`."""

    def __init__(self, host: str, port: int, *, deadline: Deadline, **options: Any) -> None:
        super().__init__(host, port, **options)
        self._deadline = deadline

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._deadline.watch(sock)  # before the TLS handshake, which a server can stall too
        return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same for HTTPS: the socket is watched from before the TLS handshake."""


def as_fetch_error(
    error: BaseException, target: Target, policy: FetchPolicy, deadline: Deadline
) -> FetchError:
    """Translate what the network and the HTTP library raised into a `FetchError`."""
    host, url = target.host, target.url
    if _is_timeout(error, deadline):
        return FetchError(
            FetchErrorCode.TIMEOUT,
            f"The server '{host}' did not deliver the file in time ({policy.total_timeout:g} s"
            f" allowed in all, {policy.connect_timeout:g} s to connect).",
            url=url,
        )
    if _is_tls_failure(error):
        return FetchError(
            FetchErrorCode.TLS_ERROR,
            f"The secure connection to '{host}' failed: {_tls_reason(error)}.",
            url=url,
        )
    failure = _connection_failure(error)
    if failure is None:
        return FetchError(
            FetchErrorCode.INVALID_RESPONSE,
            f"The server '{host}' sent a malformed HTTP response.",
            url=url,
        )
    return FetchError(
        FetchErrorCode.CONNECTION_FAILED, f"Could not fetch from '{host}': {failure}.", url=url
    )


def _connection_failure(error: BaseException) -> str | None:
    """What went wrong with the connection, or None when it was fine but the answer was not."""
    if _caused_by(error, ConnectionRefusedError):
        return "it refused the connection"
    if _caused_by(error, NewConnectionError):
        return "it could not be reached"
    if _caused_by(error, ConnectionError, ProtocolError):
        return "the connection broke off before the answer was complete"
    if _caused_by(error, HTTPException, DecodeError):
        return None
    return "the network failed"


def _is_timeout(error: BaseException, deadline: Deadline) -> bool:
    if deadline.expired:
        return True
    if _caused_by(error, NewConnectionError):
        return False  # urllib3 derives it from ConnectTimeoutError, but it means "unreachable"
    return _caused_by(error, TimeoutError, Urllib3TimeoutError) is not None


def _is_tls_failure(error: BaseException) -> bool:
    return _caused_by(error, ssl.SSLError, ssl.CertificateError, SSLError) is not None


def _tls_reason(error: BaseException) -> str:
    verification = _caused_by(error, ssl.SSLCertVerificationError)
    if isinstance(verification, ssl.SSLCertVerificationError) and verification.verify_message:
        return f"its certificate is not valid ({verification.verify_message.rstrip('.')})"
    return "the TLS handshake did not succeed"


def _caused_by(error: BaseException, *kinds: type[BaseException]) -> BaseException | None:
    """The first exception in `error`'s cause/context chain that is one of `kinds`."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
