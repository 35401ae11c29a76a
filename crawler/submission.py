"""The platform's check API, as the crawler speaks it: one blocking call per batch of images.

`CheckApiClient.submit` posts a batch to `POST {api_url}/api/v1/checks` and owns the retry policy
the API asks of its clients:

- 200/202: accepted; the answer says which images the platform already knew (`cached`);
- 429: throttled; wait `Retry-After` seconds and send the same batch again (back-pressure);
- 5xx or no connection: retry with exponential backoff, a bounded number of times, then give up
  on the batch (the crawl goes on and counts it);
- 401/403 (our token is refused) and 400 (the batch is refused): never retried.

It is deliberately blocking and Scrapy-free: the pipeline runs it in a worker thread (see
`crawler.pipelines.SubmitImagesPipeline` for why), and tests drive it against a real local
HTTP server. urllib3's own `Retry` is not used because it spends one budget on 429s and 5xxs
alike, while the API wants throttling waited out and failures retried only a few times.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import urllib3

logger = logging.getLogger(__name__)

CHECKS_PATH = "/api/v1/checks"
SOURCE = "crawler"
# The API refuses a whole batch over one longer alt text; a caption this long is cut, not lost.
MAX_ALT_LENGTH = 500


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4  # 5xx answers or lost connections before a batch is given up
    backoff: float = 1.0  # seconds before the first retry; doubles on each further one
    max_backoff: float = 60.0
    max_throttled_waits: int = 30  # 429 answers waited out before a batch is given up
    max_retry_after: float = 120.0  # never trust a Retry-After longer than this

    def backoff_before(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0-based), with jitter so that many
        crawls failing together do not come back together."""
        ceiling = min(self.max_backoff, self.backoff * 2**retry)
        return ceiling * random.uniform(0.5, 1.0)

    def throttle_wait(self, retry_after: str | None) -> float:
        seconds = _seconds_from_retry_after(retry_after)
        if seconds is None:
            seconds = self.backoff
        return max(0.0, min(seconds, self.max_retry_after))


Outcome = Literal["accepted", "rejected", "unauthorized", "failed"]


@dataclass(frozen=True)
class BatchResult:
    """What became of one batch, and what it took to get there."""

    outcome: Outcome
    check_id: str | None = None
    known: int = 0  # images the platform answered at once from a verdict it already had
    new: int = 0  # images it has queued for checking
    throttled: int = 0  # 429 answers waited out
    server_errors: int = 0  # 5xx answers
    connection_errors: int = 0  # no connection, timeouts, broken answers
    detail: str = ""  # for a person reading the log


@dataclass(frozen=True)
class SubmittedImage:
    url: str
    page_url: str
    alt: str


@dataclass
class _Attempts:
    throttled: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    retries: int = 0

    def result(self, outcome: Outcome, **values: Any) -> BatchResult:
        return BatchResult(
            outcome=outcome,
            throttled=self.throttled,
            server_errors=self.server_errors,
            connection_errors=self.connection_errors,
            **values,
        )


class CheckApiClient:
    """Submits batches of images to one platform, authenticated with one API token."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        reference: str,
        user_agent: str,
        policy: RetryPolicy | None = None,
        timeout: urllib3.Timeout | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = api_url.rstrip("/") + CHECKS_PATH
        self._reference = reference
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._http = urllib3.PoolManager(
            num_pools=1,
            maxsize=4,
            timeout=timeout or urllib3.Timeout(connect=5.0, read=60.0),
            retries=False,
        )

    def submit(self, images: Sequence[SubmittedImage]) -> BatchResult:
        """Post one batch until it is accepted, refused, or the retry policy gives up."""
        body = self._body(images)
        attempts = _Attempts()
        while True:
            try:
                response = self._http.request(
                    "POST", self.endpoint, body=body, headers=self._headers
                )
            except urllib3.exceptions.HTTPError as error:
                attempts.connection_errors += 1
                if self._retry_after_failure(attempts, f"no answer: {error}"):
                    continue
                return attempts.result("failed", detail=f"no answer from {self.endpoint}: {error}")
            if response.status in (200, 202):
                return _accepted(response, attempts)
            if response.status == 429:
                if attempts.throttled >= self._policy.max_throttled_waits:
                    return attempts.result("failed", detail="still throttled; gave up waiting")
                attempts.throttled += 1
                self._wait_out_throttling(response.headers.get("Retry-After"))
                continue
            if response.status >= 500:
                attempts.server_errors += 1
                if self._retry_after_failure(attempts, f"HTTP {response.status}"):
                    continue
                return attempts.result("failed", detail=_describe(response))
            outcome: Outcome = "unauthorized" if response.status in (401, 403) else "rejected"
            return attempts.result(outcome, detail=_describe(response))

    def _body(self, images: Sequence[SubmittedImage]) -> bytes:
        items = [
            {"url": i.url, "page_url": i.page_url, "alt": i.alt[:MAX_ALT_LENGTH]} for i in images
        ]
        document = {"source": SOURCE, "reference": self._reference, "items": items}
        return json.dumps(document).encode("utf-8")

    def _retry_after_failure(self, attempts: _Attempts, why: str) -> bool:
        if attempts.retries >= self._policy.max_retries:
            return False
        wait = self._policy.backoff_before(attempts.retries)
        attempts.retries += 1
        logger.warning(
            "Check API %s (%s); retry %d in %.1fs", self.endpoint, why, attempts.retries, wait
        )
        self._sleep(wait)
        return True

    def _wait_out_throttling(self, retry_after: str | None) -> None:
        wait = self._policy.throttle_wait(retry_after)
        logger.info("Check API throttled us; sending the same batch again in %.1fs", wait)
        self._sleep(wait)

    def close(self) -> None:
        self._http.clear()


def _accepted(response: urllib3.BaseHTTPResponse, attempts: _Attempts) -> BatchResult:
    document = _json(response)
    answered = [item for item in document.get("items", []) if isinstance(item, dict)]
    known = sum(1 for item in answered if item.get("cached") is True)
    check_id = document.get("id")
    return attempts.result(
        "accepted",
        check_id=str(check_id) if check_id is not None else None,
        known=known,
        new=len(answered) - known,
    )


def _describe(response: urllib3.BaseHTTPResponse) -> str:
    """`HTTP 400 batch_too_large: ...` from the API's JSON error, or the start of the body."""
    error = _json(response).get("error")
    if isinstance(error, dict):
        return f"HTTP {response.status} {error.get('code', '')}: {error.get('message', '')}"
    return f"HTTP {response.status}: {response.data[:200].decode('utf-8', 'replace')}"


def _json(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    try:
        document = json.loads(response.data)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _seconds_from_retry_after(value: str | None) -> float | None:
    """`Retry-After` is either delay-seconds or an HTTP date (RFC 9110, section 10.2.3)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT even when they fail to say so
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()
