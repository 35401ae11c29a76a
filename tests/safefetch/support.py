"""Test support for the fetch tests: scripted local HTTP(S) servers, a stub DNS, a TLS CA.

Everything here listens on loopback only; nothing in the suite sends a packet elsewhere.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from safefetch import FetchPolicy, IPAddress

LOOPBACK_ONLY = frozenset({ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")})
# Production limits, except that the loopback test servers may be reached and time is short.
TEST_POLICY = FetchPolicy(exempt_networks=LOOPBACK_ONLY, total_timeout=3.0, connect_timeout=1.0)


def assert_readable(error: Exception) -> None:
    """The error's message is meant for a person: a whole sentence, no internals."""
    message = getattr(error, "message", "")
    assert message and message[0].isupper() and message.rstrip(")").endswith("."), message
    for internal in ("Errno", "Traceback", "urllib3", "object at 0x", "Connection(", "None"):
        assert internal not in message, message


def resolver_from(table: dict[str, list[str]]) -> Callable[[str, int], list[IPAddress]]:
    """A stub DNS: the names in `table` resolve to its addresses, other names do not exist."""

    def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(address) for address in table[host]]

    return resolve


@dataclass
class ConnectionLog:
    """The addresses the code under test connected to (or tried to), in order."""

    attempts: list[str] = field(default_factory=list)


# --- the scripted HTTP server ---------------------------------------------------------------


class RequestHandler(BaseHTTPRequestHandler):
    server: ScriptedServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(Request(self.command, self.path, dict(self.headers), body))
        handler = self.server.routes.get(self.path.split("?")[0])
        if handler is None:
            self.send_error(404)
            return
        handler(self)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output quiet

    def answer(
        self,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "image/jpeg",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


Handler = Callable[[RequestHandler], None]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()  # handlers that stall wait on it, to end with the test
        super().__init__(address, RequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-answer are what these tests are about


@dataclass
class LocalServer:
    """A running `ScriptedServer`: script it with `route`/`serve`/`redirect`, link with `url`."""

    server: ScriptedServer
    scheme: str
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    @property
    def stopping(self) -> threading.Event:
        return self.server.stopping

    def url(self, path: str, *, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.server.routes[path] = handler
        return self.url(path)

    def serve(
        self,
        path: str,
        body: bytes,
        content_type: str = "image/jpeg",
        headers: dict[str, str] | None = None,
    ) -> str:
        return self.route(
            path, lambda r: r.answer(body, content_type=content_type, headers=headers)
        )

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(
            path, lambda r: r.answer(b"", status=status, headers={"Location": location})
        )


def running(server: ScriptedServer, scheme: str, host: str) -> Iterator[LocalServer]:
    """Serve in a thread for the duration of a fixture."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield LocalServer(server, scheme, host)
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


# --- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server_context: ssl.SSLContext


def make_certificates(directory: Path, server_name: str) -> Certificates:
    """A throw-away CA, and a server certificate it signed for `server_name`."""
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate("Verity Test CA", ca_key, ca_key, names=None)
    leaf = _certificate(server_name, server_key, ca_key, names=[server_name])
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return Certificates(ca_file=directory / "ca.pem", server_context=context)


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    names: list[str] | None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Verity Test CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=names is None, path_length=None), critical=True)
    )
    if names is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())
