"""The local web site the browser tests visit: the pages in `site/`, and images drawn on request.

`/img/<words>-<W>x<H>.<ext>` is a W x H picture (jpg, png, webp or gif) whose colours follow
from its name, so each URL has its own stable bytes; the fake Verity server judges a picture by
the words of that name. Pages can be sent with extra headers (a strict Content-Security-Policy).
Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

SITE_DIR = Path(__file__).parent / "site"
IMAGE_PATH = re.compile(
    r"^/img/(?P<name>[a-z0-9-]+)-(?P<w>\d+)x(?P<h>\d+)\.(?P<ext>jpg|png|webp|gif)$"
)
PIL_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}
STRICT_CSP = "default-src 'self'; script-src 'none'; style-src 'none'; object-src 'none'"


@lru_cache(maxsize=256)
def drawn_image(name: str, width: int, height: int, ext: str) -> bytes:
    """A stable picture for this name: a two-colour gradient with a few shapes."""
    seed = hashlib.sha256(name.encode()).digest()
    first, second = tuple(seed[0:3]), tuple(seed[3:6])
    image = Image.new("RGB", (width, height), first)
    draw = ImageDraw.Draw(image)
    for x in range(width):
        mix = x / max(width - 1, 1)
        colour = tuple(round(a * (1 - mix) + b * mix) for a, b in zip(first, second, strict=True))
        draw.line([(x, 0), (x, height)], fill=colour)
    for i in range(3):
        x, y = seed[6 + i] / 255 * width, seed[9 + i] / 255 * height
        radius = max(2, min(width, height) // (4 + i))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, PIL_FORMATS[ext])
    return buffer.getvalue()


@dataclass
class LocalSite:
    """The site, started on a free port. `hits` counts requests per path."""

    hits: dict[str, int] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The URL of a path on this site, under any host name the browser maps to 127.0.0.1."""
        return f"http://{host}:{self.port}{path}"

    def start(self) -> LocalSite:
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                hits[path] = hits.get(path, 0) + 1
                found = _respond(path)
                if found is None:
                    self.send_error(404)
                    return
                content_type, body, headers = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _respond(path: str) -> tuple[str, bytes, dict[str, str]] | None:
    if path == "/favicon.ico":
        return "image/png", drawn_image("favicon", 16, 16, "png"), {}
    match = IMAGE_PATH.match(path)
    if match:
        ext = match["ext"]
        body = drawn_image(match["name"], int(match["w"]), int(match["h"]), ext)
        return f"image/{'jpeg' if ext == 'jpg' else ext}", body, {}
    name = path.removeprefix("/static/").lstrip("/") or "gallery.html"
    file = SITE_DIR / name
    if file.parent != SITE_DIR or not file.is_file():
        return None
    headers = {"Content-Security-Policy": STRICT_CSP} if name == "strict-csp.html" else {}
    return STATIC_TYPES.get(file.suffix, "application/octet-stream"), file.read_bytes(), headers


@contextmanager
def running_site() -> Iterator[LocalSite]:
    site = LocalSite().start()
    try:
        yield site
    finally:
        site.stop()
