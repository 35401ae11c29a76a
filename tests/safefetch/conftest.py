"""Fixtures for the fetch tests: real servers on loopback, and a guard on every connect.

The autouse `connections` fixture records each TCP `connect()` the code under test makes and
fails any that is not to 127.0.0.1 or ::1: an SSRF test that would let a packet leave this
machine fails instead of sending it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from safefetch import FetchPolicy
from tests.safefetch.support import (
    LOOPBACK_ONLY,
    Certificates,
    ConnectionLog,
    LocalServer,
    ScriptedServer,
    make_certificates,
    running,
)

TLS_SERVER_NAME = "images.test"


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> ConnectionLog:
    log = ConnectionLog()
    real_connect = socket.socket.connect

    def connect_to_loopback_only(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0]).split("%")[0]
            log.attempts.append(host)
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"the code tried to connect to {host}: no packet may leave")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect_to_loopback_only)
    return log


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """An HTTP server on 127.0.0.1; script its answers per path."""
    yield from running(ScriptedServer(("127.0.0.1", 0), socket.AF_INET), "http", "127.0.0.1")


@pytest.fixture
def local_server_v6() -> Iterator[LocalServer]:
    """The same on ::1, where the machine has IPv6."""
    try:
        server = ScriptedServer(("::1", 0), socket.AF_INET6)
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    yield from running(server, "http", "[::1]")


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory: Path = tmp_path_factory.mktemp("tls")
    return make_certificates(directory, TLS_SERVER_NAME)


@pytest.fixture
def tls_server(certificates: Certificates) -> Iterator[LocalServer]:
    """An HTTPS server on 127.0.0.1 whose certificate names `images.test`."""
    server = ScriptedServer(("127.0.0.1", 0), socket.AF_INET)
    # The handshake happens in each handler thread, so a stalled client blocks nobody else.
    server.socket = certificates.server_context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    yield from running(server, "https", TLS_SERVER_NAME)


@pytest.fixture
def tls_policy(certificates: Certificates) -> FetchPolicy:
    """The test policy, trusting the throw-away CA instead of the system store."""
    return FetchPolicy(
        exempt_networks=LOOPBACK_ONLY,
        total_timeout=3.0,
        connect_timeout=1.0,
        ca_certs=str(certificates.ca_file),
    )
