"""A stand-in Verity server for the browser tests: the extension API contract (see
extension_api/extension/README.md), judged by the words of each image's file name instead of
by models, and every request recorded. The platform's end-to-end tests use the real server and
worker instead; this one lets the extension's browser tests run without a database or models.

    ai      -> likely_ai (0.97)            unsure  -> inconclusive (0.55, models disagree)
    private -> failed http_status when asked by URL (an upload brings the bytes)
    slow    -> pending until polled once   otherwise likely_real (0.04)
    blob: uploads (no file name) are judged likely_ai.

Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

MODEL_VERSION = "verity-ensemble-test"
TEAM_TOKEN = "vrx_team_token_for_tests"
PREFIX = "/api/v1/extension"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, a multipart form as {name: str | bytes}, or None


def words_of(url: str) -> list[str]:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name.replace(".", "-").split("-")


def judge(url: str, *, uploaded: bool) -> dict[str, Any]:
    """The result for one image, as the real server would shape it."""
    if url.startswith("blob:"):
        return _done(url, 0.97)
    words = words_of(url)
    if "private" in words and not uploaded:
        error = {"code": "http_status", "message": "The image server answered 403 Forbidden."}
        return {"url": url, "status": "failed", "verdict": None, "error": error}
    if "ai" in words:
        return _done(url, 0.97)
    if "unsure" in words:
        return _done(url, 0.55, abstain_reason="models_disagree")
    return _done(url, 0.04)


def _done(url: str, probability: float, abstain_reason: str | None = None) -> dict[str, Any]:
    sha = hashlib.sha256(url.encode()).hexdigest()
    band = (
        "inconclusive" if abstain_reason else ("likely_ai" if probability > 0.8 else "likely_real")
    )
    verdict = {
        "probability_ai": probability,
        "band": band,
        "model_version": MODEL_VERSION,
        "model_scores": {"cnn": probability, "resnet50": round(probability * 0.9, 3), "face": None},
        "face_found": False,
        "abstain_reason": abstain_reason,
        "created_at": "2026-01-01T00:00:00Z",
        "image_sha256": sha,
        "history_url": f"http://127.0.0.1:9/images/{sha}/",
    }
    return {"url": url, "status": "done", "verdict": verdict, "error": None}


@dataclass
class FakeVerity:
    requests: list[RecordedRequest] = field(default_factory=list)
    tokens: set[str] = field(default_factory=lambda: {TEAM_TOKEN})
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    outage_status: int | None = None  # when set, every request gets this status (e.g. 503)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def asked_urls(self) -> list[str]:
        """Every image URL the extension asked about, by URL or by upload, in order."""
        urls: list[str] = []
        for request in self.requests:
            if request.path == f"{PREFIX}/page-checks" and request.method == "POST":
                urls += [image["url"] for image in request.body["images"]]
            elif request.path == f"{PREFIX}/uploads":
                urls.append(request.body["src"])
        return urls

    def requests_to(self, path: str, method: str = "POST") -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == PREFIX + path and r.method == method]

    def start(self) -> FakeVerity:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = RecordedRequest(
                    method=self.command,
                    path=urlsplit(self.path).path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=_parse_body(self.headers.get("Content-Type", ""), raw),
                )
                with fake._lock:
                    fake.requests.append(request)
                    status, payload = fake._answer(request)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
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

    def _answer(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        if self.outage_status is not None:
            error = {"code": "unavailable", "message": "Down for maintenance.", "detail": {}}
            return self.outage_status, {"error": error}
        route = (request.method, request.path)
        if route == ("POST", f"{PREFIX}/installs"):
            token = f"vrx_{uuid.uuid4().hex}"
            self.tokens.add(token)
            return 201, {"install_id": str(uuid.uuid4()), "token": token}
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return 401, {
                "error": {"code": "token_invalid", "message": "Invalid token.", "detail": {}}
            }
        if route == ("POST", f"{PREFIX}/page-checks"):
            urls = [image["url"] for image in request.body["images"]]
            return self._check(str(uuid.uuid4()), urls, uploaded=False, polls=0)
        if route == ("POST", f"{PREFIX}/uploads"):
            return self._check(str(uuid.uuid4()), [request.body["src"]], uploaded=True, polls=0)
        check_id = request.path.rsplit("/", 1)[-1]
        if request.method == "GET" and check_id in self.checks:
            check = self.checks[check_id]
            return self._check(check_id, check["urls"], check["uploaded"], check["polls"] + 1)
        return 404, {"error": {"code": "not_found", "message": "No such route.", "detail": {}}}

    def _check(
        self, check_id: str, urls: list[str], uploaded: bool, polls: int
    ) -> tuple[int, dict[str, Any]]:
        self.checks[check_id] = {"urls": urls, "uploaded": uploaded, "polls": polls}
        results = [
            {"url": url, "status": "pending", "verdict": None, "error": None}
            if "slow" in words_of(url) and polls == 0
            else judge(url, uploaded=uploaded)
            for url in urls
        ]
        pending = any(result["status"] == "pending" for result in results)
        poll_url = f"{PREFIX}/page-checks/{check_id}"
        payload = {"id": check_id, "poll_url": poll_url, "retry_after_ms": 200, "results": results}
        return (202 if pending else 200), payload


def _parse_body(content_type: str, raw: bytes) -> Any:
    if not raw:
        return None
    if content_type.startswith("application/json"):
        return json.loads(raw)
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        form: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            form[str(name)] = payload if part.get_filename() else payload.decode()
        return form
    return raw


@contextmanager
def running_fake_verity() -> Iterator[FakeVerity]:
    fake = FakeVerity().start()
    try:
        yield fake
    finally:
        fake.stop()
