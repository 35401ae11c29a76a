"""Helpers for the crawl tests: a small news site with real JPEGs, a webhook receiver that checks
signatures, and a look into the broker's queues. Everything listens on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from django.conf import settings

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
