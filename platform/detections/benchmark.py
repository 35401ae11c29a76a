"""The platform benchmark (`make bench-platform`): real web server, real workers, real broker and
database, images served from 127.0.0.1. Prints its figures; it asserts nothing.

1. Cached-verdict look-ups at 50 concurrent clients: latency p50/p95 (open loop at a fixed rate,
   as real clients behave) and the most the server sustains (closed loop).
2. A new image end to end (submit -> fetched -> scored -> verdict), one at a time: p50/p95.
3. Pipeline throughput: 1,000 distinct images submitted at once, until every verdict is stored.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from django.conf import settings
from django.core.management import call_command
from PIL import Image as PILImage

REPO_ROOT = Path(settings.REPO_ROOT)


@dataclass(frozen=True)
class BenchConfig:
    port: int = 8765
    images: int = 1000
    clients: int = 50
    rate_per_client: float = 4.0  # open loop: requests per second per client
    seconds: float = 15.0
    new_image_samples: int = 30
    batch: int = 100


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def photo_jpeg(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            127 + 100 * np.sin(x / (15 + seed % 17) + c) * np.cos(y / (21 + seed % 5))
            for c in (0.0, 1.1, 2.2)
        ],
        axis=-1,
    )
    pixels = np.clip(base + rng.normal(0, 5, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


@contextmanager
def image_server(count: int) -> Iterator[str]:
    images = {f"/img/{i}.jpg": photo_jpeg(i) for i in range(count)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = images.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextmanager
def platform_processes(config: BenchConfig, log_dir: Path) -> Iterator[str]:
    """gunicorn + an io worker + a gpu worker, as in production (fewer processes: 2 cores)."""
    env = {
        **os.environ,
        "VERITY_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "VERITY_MODEL_RELOAD_CHECK_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
    }
    bin_dir = Path(sys.executable).parent
    commands = {
        "web": [
            str(bin_dir / "gunicorn"),
            "--pythonpath",
            "platform",
            "verity.wsgi",
            "--bind",
            f"127.0.0.1:{config.port}",
            "--workers",
            "3",
            "--threads",
            "8",
            "--worker-class",
            "gthread",
            "--timeout",
            "120",
        ],
        "io": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "-Q",
            "io",
            "-n",
            "bench-io@%h",
            "--pool",
            "threads",
            "--concurrency",
            "8",
            "--without-gossip",
            "--without-mingle",
        ],
        "gpu": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "-Q",
            "gpu",
            "-n",
            "bench-gpu@%h",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
        ],
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
            stdout=(log_dir / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for name, command in commands.items()
    ]
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def _wait_until_up(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{base}/api/v1/healthz") as response:
                    if response.status in (200, 503):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the web server did not start")


async def _check(
    session: aiohttp.ClientSession, base: str, urls: list[str], wait: float
) -> dict[str, Any]:
    async with session.post(
        f"{base}/api/v1/checks", json={"items": [{"url": u} for u in urls]}
    ) as response:
        created = await response.json()
    deadline = time.monotonic() + 600
    while created["status"] != "done" and time.monotonic() < deadline:
        async with session.get(
            f"{base}/api/v1/checks/{created['id']}", params={"wait": str(wait)}
        ) as response:
            created = await response.json()
    return created


async def new_image_latencies(
    session: aiohttp.ClientSession, base: str, urls: list[str]
) -> list[float]:
    latencies = []
    for url in urls:
        started = time.perf_counter()
        result = await _check(session, base, [url], wait=10)
        latencies.append(time.perf_counter() - started)
        assert result["items"][0]["status"] in ("done", "failed"), result
    return latencies


async def pipeline_throughput(
    session: aiohttp.ClientSession, base: str, urls: list[str], batch: int
) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(_check(session, base, urls[i : i + batch], wait=20) for i in range(0, len(urls), batch))
    )
    elapsed = time.perf_counter() - started
    statuses: dict[str, int] = {}
    for result in results:
        for item in result["items"]:
            statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    return len(urls) / elapsed, statuses


async def _lookup(
    session: aiohttp.ClientSession,
    base: str,
    path: str,
    body: dict[str, Any],
    latencies: list[float],
) -> None:
    started = time.perf_counter()
    async with session.post(f"{base}{path}", json=body) as response:
        await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{path} answered {response.status}")
    latencies.append(time.perf_counter() - started)


async def cached_lookups(
    session: aiohttp.ClientSession,
    base: str,
    path: str,
    bodies: list[dict[str, Any]],
    config: BenchConfig,
    open_loop: bool,
) -> tuple[list[float], float]:
    """`clients` concurrent clients for `seconds`: open loop (each at `rate_per_client`) or
    closed loop (each sends its next request as soon as the last one is answered)."""
    latencies: list[float] = []
    stop = time.monotonic() + config.seconds

    async def client(index: int) -> None:
        interval = 1 / config.rate_per_client
        next_at = time.monotonic() + index * interval / config.clients
        while time.monotonic() < stop:
            if open_loop:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            await _lookup(session, base, path, bodies[index % len(bodies)], latencies)

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(config.clients)))
    return latencies, len(latencies) / (time.monotonic() - started)


async def run(config: BenchConfig, base: str, images: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=config.clients + 20)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        await _wait_until_up(base)
        warm = await _check(session, base, [f"{images}/img/0.jpg"], wait=30)  # loads the model
        assert warm["items"][0]["status"] == "done", warm
        new = await new_image_latencies(
            session, base, [f"{images}/img/{i}.jpg" for i in range(1, config.new_image_samples + 1)]
        )
        first = config.new_image_samples + 1
        rate, statuses = await pipeline_throughput(
            session,
            base,
            [f"{images}/img/{i}.jpg" for i in range(first, first + config.images)],
            config.batch,
        )
        known = [f"{images}/img/{i}.jpg" for i in range(first, first + config.clients)]
        results = {}
        for name, path, bodies in (
            ("lookup", "/api/v1/lookups", [{"urls": [u]} for u in known]),
            ("check (cache hit)", "/api/v1/checks", [{"items": [{"url": u}]} for u in known]),
        ):
            open_latencies, open_rate = await cached_lookups(
                session, base, path, bodies, config, open_loop=True
            )
            closed_latencies, closed_rate = await cached_lookups(
                session, base, path, bodies, config, open_loop=False
            )
            results[name] = (open_latencies, open_rate, closed_latencies, closed_rate)
    return {"new": new, "throughput": rate, "statuses": statuses, "cached": results}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(config: BenchConfig, figures: dict[str, Any]) -> str:
    lines = [
        f"Verity platform benchmark ({os.cpu_count()} CPU cores, "
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"broker {settings.CELERY_BROKER_URL.split(':', 1)[0]})",
        "",
        f"Cached-verdict look-ups, {config.clients} concurrent clients:",
        "| endpoint | open loop rate | p50 | p95 | closed loop (max) rate | p50 | p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (open_l, open_r, closed_l, closed_r) in figures["cached"].items():
        lines.append(
            f"| {name} | {open_r:.0f}/s | {ms(percentile(open_l, 50))} | "
            f"{ms(percentile(open_l, 95))} | {closed_r:.0f}/s | {ms(percentile(closed_l, 50))} | "
            f"{ms(percentile(closed_l, 95))} |"
        )
    new = figures["new"]
    lines += [
        "",
        f"New image end to end (submit -> verdict), {len(new)} images one at a time: "
        f"p50 {percentile(new, 50):.2f} s, p95 {percentile(new, 95):.2f} s, "
        f"mean {statistics.mean(new):.2f} s (floor: p95 < 2 s)",
        f"Pipeline throughput, {config.images} distinct images submitted at once: "
        f"{figures['throughput']:.1f} images/s (items: {figures['statuses']})",
        "Floor: cached look-up p95 < 25 ms (open loop row).",
    ]
    return "\n".join(lines)


def run_benchmark(config: BenchConfig) -> str:
    from apitokens.services import token_create

    database = settings.DATABASES["default"]["NAME"]
    if "bench" not in str(database):
        raise RuntimeError(f"refusing to wipe database {database!r}: use one named *bench*")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    _, key = token_create(name="bench", scopes=["submit", "read"])
    from apitokens.throttling import TokenRateThrottle  # noqa: F401  (rates come from env)

    log_dir = Path(settings.VAR_DIR) / "bench-logs"
    with (
        image_server(config.images + config.new_image_samples + 1) as images,
        platform_processes(config, log_dir) as base,
    ):
        figures = asyncio.run(run(config, base, images, key))
    return report(config, figures)
