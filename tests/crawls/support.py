"""Helpers for the crawl tests: a small news site with real JPEGs, an endless slow site, a webhook
receiver that checks signatures, a look into the broker's queues (servers listen on 127.0.0.1
only), and runs with the checks their crawler would have created."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from django.conf import settings
from django.utils import timezone

from apitokens.services import token_create
from crawls.models import CrawlJob, CrawlRun, RunStatus
from detections.models import Check, CheckItem, Verdict
from notifications.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.support import StaticServer, photo_like_jpeg

HTML = "text/html; charset=utf-8"


@dataclass
class NewsSite:
    """A site on a StaticServer: pages made of image patterns, and the JPEGs they show.

    `page(path, images)` writes a page whose images use a different markup pattern each
    (img src, srcset, lazy data-src, og:image, inline background), so a real crawl exercises
    the crawler's extraction; `photo(path, seed)` serves a distinct JPEG and returns its
    SHA-256 (what the platform keys images by)."""

    server: StaticServer
    links: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def photo(self, path: str, seed: int) -> str:
        data = photo_like_jpeg(seed)
        self.server.add(path, data, "image/jpeg")
        return hashlib.sha256(data).hexdigest()

    def page(self, path: str, images: list[str], *, title: str = "A story") -> None:
        markup = [_pattern(i, image) for i, image in enumerate(images)]
        og = [m for m in markup if m.startswith("<meta")]
        body = [m for m in markup if not m.startswith("<meta")]
        html = (
            f"<!doctype html><html><head><title>{title}</title>{''.join(og)}</head>"
            f"<body><h1>{title}</h1>{''.join(body)}</body></html>"
        )
        self.server.add(path, html.encode(), HTML)

    def front_page(self, extra_html: str = "") -> None:
        links = "".join(f'<a href="{link}">{link}</a> ' for link in self.links)
        html = f"<!doctype html><html><body><nav>{links}</nav>{extra_html}</body></html>"
        self.server.add("/", html.encode(), HTML)

    def robots(self, text: str) -> None:
        self.server.add("/robots.txt", text.encode(), "text/plain")


def _pattern(index: int, image: str) -> str:
    """Image markup, cycling through what a reader's browser would show."""
    patterns = [
        '<img src="{0}" alt="photo">',
        '<img src="/placeholder.gif" srcset="{0} 1200w, {0}?small 300w" alt="srcset">',
        '<img class="lazy" data-src="{0}" alt="lazy">',
        '<meta property="og:image" content="{0}">',
        "<div style=\"background-image: url('{0}')\">hero</div>",
    ]
    return patterns[index % len(patterns)].format(image)


@dataclass(frozen=True)
class Delivery:
    event: str
    payload: dict[str, Any]
    signature_valid: bool


class WebhookReceiver:
    """Accepts signed webhooks and keeps what came, with whether the signature held."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver._record(
                    self.headers.get("X-Verity-Event", ""),
                    body,
                    self.headers.get(TIMESTAMP_HEADER, "0"),
                    self.headers.get(SIGNATURE_HEADER, ""),
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/verity"

    def _record(self, event: str, body: bytes, timestamp: str, signature: str) -> None:
        valid = verify(self.secret, timestamp, body, signature)
        with self._lock:
            self.deliveries.append(Delivery(event, json.loads(body), valid))

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def queued_tasks(queue: str) -> list[tuple[str, list[Any]]]:
    """(task name, args) of the messages waiting in a queue of the real Redis broker."""
    tasks = []
    for raw in broker().lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks


class SlowSite:
    """An endless chain of slow pages (each links to the next two), each with one image: a
    crawl of it is still going when a test cancels it or its time runs out."""

    def __init__(self, seconds_per_page: float = 0.3) -> None:
        delay = seconds_per_page

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    self._send(b"User-agent: *\nAllow: /\n", "text/plain")
                    return
                time.sleep(delay)
                number = int(self.path.strip("/") or 0)
                html = (
                    f'<html><body><img src="/img/{number}.jpg">'
                    f'<a href="/{number + 1}">next</a> <a href="/{number + 2}">after</a>'
                    "</body></html>"
                )
                self._send(html.encode(), HTML)

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> SlowSite:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def scoring_run(job: CrawlJob, *, days_ago: int = 0) -> CrawlRun:
    """A run whose crawl has ended: its checks are being judged."""
    token, _ = token_create(name="crawl run", scopes=["submit"], kind="crawler")
    run = CrawlRun.objects.create(
        job=job,
        trigger="manual",
        status=RunStatus.SCORING,
        token=token,
        started_at=timezone.now(),
        scoring_deadline=timezone.now() + timedelta(hours=1),
        pages=2,
    )
    CrawlRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    run.refresh_from_db()
    return run


def seen(name: str, page: str, verdict: Verdict) -> dict[str, Any]:
    """An item of a check: image `name` at its CDN URL, on `page`, answered with `verdict`."""
    return {"url": f"https://cdn.example/{name}.jpg", "page": page, "verdict": verdict}


def submitted(run: CrawlRun, *items: dict[str, Any]) -> Check:
    """A check as the run's crawler creates it: its reference, its token, these items."""
    check = Check.objects.create(
        token=run.token, source="crawler", reference=run.reference, status="done"
    )
    for index, item in enumerate(items):
        verdict: Verdict | None = item.get("verdict")
        CheckItem.objects.create(
            check_request=check,
            index=index,
            url=item["url"],
            page_url=item.get("page", ""),
            status=item.get("status", "done" if verdict else "failed"),
            image=verdict.image if verdict else item.get("image"),
            verdict=verdict,
            error_code=item.get("error", ""),
        )
    return check
