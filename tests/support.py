"""Test helpers that are not fixtures: local servers, image bytes, real worker processes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

REPO_ROOT = Path(__file__).resolve().parents[1]


def photo_like_jpeg(seed: int, size: tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    """A distinct, natural-ish JPEG: smooth gradients plus sensor-like noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            127 + 100 * np.sin(x / (17 + seed % 13) + c) * np.cos(y / (23 + seed % 7) - c)
            for c in (0.0, 1.3, 2.6)
        ],
        axis=-1,
    )
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(noisy).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@dataclass
class StaticServer:
    """A threaded HTTP server on 127.0.0.1 serving bytes that tests register by path."""

    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> StaticServer:
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits[self.path] = hits.get(self.path, 0) + 1
                if self.path not in routes:
                    self.send_error(404)
                    return
                content_type, body = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        self.routes[path] = (content_type, body)
        return self.base_url + path

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class WorkerProcess:
    """A real Celery worker (`celery -A workers worker`) in its own process."""

    queues: str
    env: Mapping[str, str]
    log_path: Path
    pool: str = "solo"
    concurrency: int = 1
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> WorkerProcess:
        name = f"{self.queues.replace(',', '-')}-{os.getpid()}-{time.monotonic_ns()}@%h"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "-Q",
            self.queues,
            "-n",
            name,
            "--pool",
            self.pool,
            "--concurrency",
            str(self.concurrency),
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
            *self.extra_args,
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: b" ready." in self.log_path.read_bytes() or self.process.poll() is not None,
            timeout=timeout,
            what=f"worker for {self.queues} to start",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited:\n{self.log_path.read_text()[-3000:]}")
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgement, exactly like a crash or the OOM killer."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
