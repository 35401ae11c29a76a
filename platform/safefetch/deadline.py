"""A wall-clock budget for one whole fetch, enforced by shutting the fetch's sockets down.

Socket timeouts bound each single `recv`, not a fetch: a server that drips one byte a second
(in the TLS handshake, the headers or the body) never trips them. So a timer thread shuts down
every socket the fetch opened once the budget is spent; the blocked read returns at once, and
the fetch reports `timeout`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType


class Deadline:
    """Use as a context manager around a fetch; register each socket with `watch`."""

    def __init__(self, seconds: float) -> None:
        self._expires_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    @property
    def expired(self) -> bool:
        return self._expired or self.remaining() <= 0

    def remaining(self) -> float:
        return max(self._expires_at - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the budget runs out (at once if it already has)."""
        with self._lock:
            self._sockets.append(sock)
            expired = self._expired
        if expired:
            _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    # The plain-socket method, even for TLS sockets: `SSLSocket.shutdown` would also drop the
    # TLS state under the reading thread's feet. Shutting the descriptor wakes that thread.
    with contextlib.suppress(OSError):  # already closed: nothing left to interrupt
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
