"""Crawl benchmark: how fast the crawler reads pages and extracts images, politeness off.

    nice -n 10 python -m crawler.bench [--pages 2000] [--submit] [--concurrency 32]

It generates a site of `--pages` linked pages (about 25 kB of HTML each, seven images in the
usual patterns, one of them a logo shared by every page), serves it from a separate process on
127.0.0.1, and crawls it with `python -m crawler run` exactly as the platform does, with no
robots.txt, no delay and no AutoThrottle. With `--submit` the same server also plays the check
API, so the figures include batching and submission. It prints pages per second and images per
second over the crawl itself (from the final progress line), the wall time including process
start-up, and the CPU the crawl process used; it exits 1 if pages per second fall below the floor.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FLOOR_PAGES_PER_SECOND = 50.0
LINKS_PER_PAGE = 6
PARAGRAPHS_PER_PAGE = 30
_WORDS = ("council", "harbour", "rules", "residents", "traders", "talks", "said", "the", "of")


def generate_site(pages: int, seed: int = 7) -> dict[str, bytes]:
    """Path -> HTML for a site whose pages all link onwards, so a crawl from / reaches them all."""
    rng = random.Random(seed)
    return {_page_path(number): _page(number, pages, rng) for number in range(pages)}


def _page_path(number: int) -> str:
    return "/" if number == 0 else f"/story/{number}.html"


def _page(number: int, pages: int, rng: random.Random) -> bytes:
    onward = [(number + step) % pages for step in range(1, 3)]
    onward += [rng.randrange(pages) for _ in range(LINKS_PER_PAGE - len(onward))]
    links = "".join(f'<li><a href="{_page_path(n)}">Story {n}</a></li>' for n in onward)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(_WORDS) for _ in range(120)) + "</p>"
        for _ in range(PARAGRAPHS_PER_PAGE)
    )
    n = number
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Story {n}</title><meta property="og:image" content="/img/{n}/card.jpg">
<meta name="twitter:image" content="/img/{n}/card.jpg"></head><body>
<header><img src="/img/logo.png" alt="The Bench Times"></header>
<img src="/img/{n}/hero-400.jpg" srcset="/img/{n}/hero-400.jpg 400w, /img/{n}/hero-1600.jpg 1600w"
 alt="Hero of story {n}">
<img src="data:image/gif;base64,R0lGOD=" data-src="/img/{n}/lazy.jpg" alt="Lazy {n}">
<picture><source type="image/webp" srcset="/img/{n}/pic.webp 1x, /img/{n}/pic@2x.webp 2x">
<img src="/img/{n}/pic.jpg" alt="Picture {n}"></picture>
<div style="background-image: url('/img/{n}/bg.jpg')"></div>
<img src="/pixel.gif" width="1" height="1" alt="">
<article>{paragraphs}</article><nav><ul>{links}</ul></nav></body></html>""".encode()


def _serve(pages: int, port_queue: Any) -> None:
    """The site (and, for --submit, the check API), served until the process is terminated."""
    site = generate_site(pages)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = site.get(self.path)
            self._answer(200 if body else 404, "text/html; charset=utf-8", body or b"Not here")

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            items = [{"index": i, "cached": False} for i, _ in enumerate(request["items"])]
            check = {"id": str(uuid.uuid4()), "status": "queued", "items": items}
            self._answer(202, "application/json", json.dumps(check).encode())

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _job(origin: str, pages: int, concurrency: int, submit: bool) -> dict[str, Any]:
    job: dict[str, Any] = {
        "spider": "site",
        "start_urls": [origin + "/"],
        "max_pages": pages,
        "max_depth": 0,
        "obey_robots": False,
        "autothrottle": False,
        "download_delay": 0,
        "concurrency_per_domain": concurrency,
        "concurrent_requests": concurrency,
        "reference": "bench",
        "exempt_networks": ["127.0.0.1/32"],  # the generated site is local
    }
    if submit:
        job |= {"api_url": origin, "batch_size": 100}
    return job


def _crawl(job: dict[str, Any], workdir: Path) -> tuple[dict[str, Any], float, float]:
    """Run the crawler as the platform does; (final progress line, wall seconds, CPU seconds)."""
    (workdir / "job.json").write_text(json.dumps(job))
    command = [sys.executable, "-m", "crawler", "run", "--job-file", str(workdir / "job.json")]
    command += ["--progress-file", str(workdir / "progress.jsonl"), "--log-level", "WARNING"]
    command += ["--output", str(workdir / "images.jsonl")]
    environment = {**os.environ, "VERITY_API_TOKEN": "bench-token"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = (workdir / "progress.jsonl").read_text().splitlines()
    return json.loads(lines[-1]), wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.bench", description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--submit", action="store_true", help="also submit to a local check API")
    arguments = parser.parse_args(argv)

    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(arguments.pages, ports), daemon=True)
    server.start()
    origin = f"http://127.0.0.1:{ports.get(timeout=60)}"
    try:
        job = _job(origin, arguments.pages, arguments.concurrency, arguments.submit)
        with tempfile.TemporaryDirectory() as workdir:
            final, wall, cpu = _crawl(job, Path(workdir))
    finally:
        server.terminate()
    return _report(final, wall, cpu, arguments)


def _report(final: dict[str, Any], wall: float, cpu: float, arguments: argparse.Namespace) -> int:
    crawl_seconds = final["elapsed_seconds"]
    pages_per_second = final["pages"] / crawl_seconds
    print(f"site            {arguments.pages} generated pages, concurrency {arguments.concurrency}")
    print(f"pages read      {final['pages']} ({final['finish_reason']})")
    print(f"images found    {final['images_found']}  submitted {final['images_submitted']}")
    print(f"dropped         {final['dropped']}")
    print(f"errors          {final['errors']}")
    print(f"crawl time      {crawl_seconds:.2f} s (spider open to close)")
    print(f"wall time       {wall:.2f} s (including process start-up)")
    print(f"crawler CPU     {cpu:.2f} s ({100 * cpu / wall:.0f}% of one core over the wall time)")
    print(f"pages/s         {pages_per_second:.1f}")
    print(f"images/s        {final['images_found'] / crawl_seconds:.1f}")
    passed = pages_per_second >= FLOOR_PAGES_PER_SECOND
    print(f"floor           {FLOOR_PAGES_PER_SECOND:.0f} pages/s: {'met' if passed else 'MISSED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
