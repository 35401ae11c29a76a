"""A local test website, a recording check API, and a way to run the crawler as the platform does.

Everything listens on 127.0.0.1 with a random port; nothing leaves the machine.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SITE_DIR = Path(__file__).parent / "site"
REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-not-a-secret"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
SLOW_PAGE_SECONDS = 0.3


def _big_page() -> bytes:
    """About 5 MB of HTML with an image at each end: the last one proves it was read whole."""
    paragraph = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "</p>\n"
    return (
        "<!doctype html><html><head><title>A very large page</title></head><body>"
        '<img src="/img/big-page-start.jpg" alt="At the top of a very large page">'
        + paragraph
        * 4500
        + '<img src="/img/big-page-end.jpg" alt="At the end of a very large page">'
        "</body></html>"
    ).encode()


def _slow_page(number: int) -> bytes:
    """An endless chain of slow pages, for a crawl that is still running when it is cancelled."""
    return (
        f"<!doctype html><html><head><title>Slow {number}</title></head><body>"
        f'<img src="/img/slow-{number}.jpg" alt="Slow page {number}">'
        f'<a href="/slow/{number + 1}">next</a> <a href="/slow/{number + 2}">after next</a>'
        "</body></html>"
    ).encode()


@dataclass(frozen=True)
class SeenRequest:
    path: str
    user_agent: str


class TestSite:
    """The files under site/ (with {{ORIGIN}}, {{HOST}} and {{OFFSITE_ORIGIN}} filled in) and the
    routes no file can play: a redirect, a failing page, a very large page and slow pages.

    The site answers to two host names: 127.0.0.1 (the crawled site) and localhost (standing in
    for another site, which the crawl must not follow)."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.host = f"127.0.0.1:{port}"
        self.origin = f"http://{self.host}"
        self.offsite_origin = f"http://localhost:{port}"
        self._big_page = _big_page()

    def url(self, path: str) -> str:
        return self.origin + path

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.requests]

    def __enter__(self) -> TestSite:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, path: str, user_agent: str) -> None:
        with self._lock:
            self.requests.append(SeenRequest(path=path, user_agent=user_agent))

    def _page(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/old-location":
            return HTTPStatus.MOVED_PERMANENTLY, {"Location": "/moved.html"}, b""
        if path == "/broken":
            return HTTPStatus.INTERNAL_SERVER_ERROR, {}, b"<h1>Something broke</h1>"
        if path == "/big.html":
            return HTTPStatus.OK, {"Content-Type": CONTENT_TYPES[".html"]}, self._big_page
        if path.startswith("/slow/"):
            time.sleep(SLOW_PAGE_SECONDS)
            number = int(path.removeprefix("/slow/"))
            return HTTPStatus.OK, {"Content-Type": CONTENT_TYPES[".html"]}, _slow_page(number)
        if path.endswith(".xml.gz"):
            found = self._file(path.removesuffix(".gz"))
            if found is not None:
                return HTTPStatus.OK, {"Content-Type": "application/x-gzip"}, gzip.compress(found)
        found = self._file("/index.html" if path == "/" else path)
        if found is None:
            return HTTPStatus.NOT_FOUND, {"Content-Type": CONTENT_TYPES[".html"]}, b"Not here"
        content_type = CONTENT_TYPES.get(Path(path).suffix, CONTENT_TYPES[".html"])
        return HTTPStatus.OK, {"Content-Type": content_type}, found

    def _file(self, path: str) -> bytes | None:
        file = (SITE_DIR / path.lstrip("/")).resolve()
        if not file.is_relative_to(SITE_DIR) or not file.is_file():
            return None
        text = file.read_text(encoding="utf-8")
        for placeholder, value in (
            ("{{ORIGIN}}", self.origin),
            ("{{HOST}}", self.host),
            ("{{OFFSITE_ORIGIN}}", self.offsite_origin),
        ):
            text = text.replace(placeholder, value)
        return text.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real sites do

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                site._record(path, self.headers.get("User-Agent", ""))
                status, headers, body = site._page(path)
                _respond(self, status, headers, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _respond(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@dataclass(frozen=True)
class ApiCall:
    status: int
    authorization: str
    body: dict[str, Any]
    check_id: str | None  # the id of the check the answer created, if any


@dataclass
class CheckApi:
    """Speaks the platform's `POST /api/v1/checks` and records every call.

    `answers` scripts the status of the first calls (429 comes with `Retry-After`); every later
    call is accepted with 202, unless its token is not `token` (401). Items whose URL is in
    `known` are answered as cached verdicts."""

    answers: list[int] = field(default_factory=list)
    token: str = TOKEN
    known: set[str] = field(default_factory=set)
    retry_after: str = "1"
    calls: list[ApiCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def accepted(self) -> list[ApiCall]:
        return [call for call in self.calls if call.status == HTTPStatus.ACCEPTED]

    def __enter__(self) -> CheckApi:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, authorization: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            status = self.answers.pop(0) if self.answers else HTTPStatus.ACCEPTED
            if authorization != f"Bearer {self.token}":
                status = HTTPStatus.UNAUTHORIZED
            headers = {"Retry-After": self.retry_after} if status == 429 else {}
            document = self._check(body) if status == HTTPStatus.ACCEPTED else _error(status)
            self.calls.append(ApiCall(status, authorization, body, document.get("id")))
        return status, headers, document

    def _check(self, body: dict[str, Any]) -> dict[str, Any]:
        items = [
            {
                "index": index,
                "url": item["url"],
                "page_url": item["page_url"],
                "status": "done" if item["url"] in self.known else "queued",
                "cached": item["url"] in self.known,
                "image_sha256": None,
                "verdict": None,
                "error": None,
            }
            for index, item in enumerate(body["items"])
        ]
        done = sum(item["cached"] for item in items)
        return {
            "id": str(uuid.uuid4()),
            "status": "queued",
            "reference": body["reference"],
            "items": items,
            "counts": {
                "total": len(items),
                "done": done,
                "failed": 0,
                "pending": len(items) - done,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                authorization = self.headers.get("Authorization", "")
                status, headers, document = api._answer(authorization, body)
                headers["Content-Type"] = "application/json"
                _respond(self, status, headers, json.dumps(document).encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


_ERROR_CODES = {
    HTTPStatus.BAD_REQUEST: "batch_too_large",
    HTTPStatus.UNAUTHORIZED: "not_authenticated",
    HTTPStatus.TOO_MANY_REQUESTS: "throttled",
}


def _error(status: int) -> dict[str, Any]:
    code = _ERROR_CODES.get(HTTPStatus(status), "server_error")
    return {"error": {"code": code, "message": HTTPStatus(status).phrase, "detail": {}}}


@dataclass(frozen=True)
class CrawlRun:
    returncode: int
    progress: list[dict[str, Any]]
    images: list[dict[str, Any]]
    log: str

    @property
    def final(self) -> dict[str, Any]:
        return self.progress[-1]

    @property
    def image_urls(self) -> set[str]:
        return {image["url"] for image in self.images}


class Crawler:
    """Runs `python -m crawler run` in a subprocess, exactly as the platform will."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.progress_file = workdir / "progress.jsonl"
        self.output_file = workdir / "images.jsonl"

    def command(self, job: dict[str, Any]) -> list[str]:
        job_file = self.workdir / "job.json"
        # The test site is on 127.0.0.1, which the crawler's address guard refuses by default.
        job_file.write_text(json.dumps({"exempt_networks": ["127.0.0.1/32"], **job}))
        return [
            sys.executable,
            "-m",
            "crawler",
            "run",
            "--job-file",
            str(job_file),
            "--progress-file",
            str(self.progress_file),
            "--output",
            str(self.output_file),
        ]

    def environment(self, token: str | None = TOKEN) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.pop("VERITY_API_TOKEN", None)
        if token is not None:
            env["VERITY_API_TOKEN"] = token
        return env

    def run(self, job: dict[str, Any], *, timeout: float = 60) -> CrawlRun:
        completed = subprocess.run(
            self.command(job),
            cwd=REPO_ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return self.result(completed.returncode, completed.stderr)

    def start(self, job: dict[str, Any]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(job),
            cwd=REPO_ROOT,
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def progress(self) -> list[dict[str, Any]]:
        return _json_lines(self.progress_file)

    def result(self, returncode: int, log: str) -> CrawlRun:
        return CrawlRun(
            returncode=returncode,
            progress=self.progress(),
            images=_json_lines(self.output_file),
            log=log,
        )


def _json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture
def site() -> Iterator[TestSite]:
    with TestSite() as running:
        yield running


@pytest.fixture
def crawler(tmp_path: Path) -> Crawler:
    return Crawler(tmp_path)


@pytest.fixture
def check_api() -> Iterator[Callable[..., CheckApi]]:
    """`check_api(answers=[429, 500], known={url})` starts a recording check API."""
    started: list[CheckApi] = []

    def start(**options: Any) -> CheckApi:
        api = CheckApi(**options).__enter__()
        started.append(api)
        return api

    yield start
    for api in started:
        api.__exit__()
