"""Running `python -m crawler run` in a child process and following it to its end. No Django here.

Scrapy's reactor cannot be restarted inside one process, so every crawl is a process of its own.
It gets a job file, appends its progress feed beside it, and reads the API token from its
environment, which holds nothing else of ours: no database URL, no secret key.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from crawls.progress import ProgressTail

# The name of the variable the crawler reads its token from (crawler.pipelines.API_TOKEN_ENV).
TOKEN_ENV = "VERITY_API_TOKEN"  # noqa: S105  (a name, not a secret)
# Passed on to the crawler: what a Python process needs to run and to reach the web.
INHERITED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)
JOB_FILE = "job.json"
PROGRESS_FILE = "progress.jsonl"
LOG_FILE = "crawl.log"


class CrawlObserver(Protocol):
    """What the supervisor reports to, and asks whether to stop, about twice a second."""

    def progress(self, lines: list[dict[str, Any]]) -> None:
        """New feed lines (often none): record them, and show that the crawl is alive."""

    def stop_reason(self) -> str | None:
        """Why the crawl must stop now (e.g. "cancelled"), or None to let it go on."""


@dataclass(frozen=True)
class CrawlOutcome:
    exit_code: int  # the crawler's (see crawler.runner.ExitCode); negative: killed by a signal
    final_line: dict[str, Any] | None  # the feed's last line, if the crawler wrote one
    stopped_because: str | None  # why we stopped it, if we did
    log_tail: str


def crawler_environment(token: str, inherited: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if inherited is None else inherited
    env = {name: source[name] for name in INHERITED_ENV if name in source}
    return env | {TOKEN_ENV: token, "PYTHONUNBUFFERED": "1"}


class CrawlProcess:
    """One crawler process in `workdir`; `run()` blocks until it has ended."""

    def __init__(
        self,
        *,
        workdir: Path,
        job: Mapping[str, Any],
        token: str,
        cwd: Path,
        grace_seconds: float,
        poll_seconds: float = 0.5,
    ) -> None:
        self.workdir = workdir
        self._job = job
        self._token = token
        self._cwd = cwd
        self._grace = grace_seconds
        self._poll = poll_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped_because: str | None = None
        self._stop_sent_at = 0.0
        self._final_line: dict[str, Any] | None = None

    def run(self, observer: CrawlObserver) -> CrawlOutcome:
        process = self._start()
        tail = ProgressTail(self.workdir / PROGRESS_FILE)
        try:
            try:
                self._follow(process, tail, observer)
            except KeyboardInterrupt:  # Ctrl-C at the terminal: stop gently, then report
                self._stop("interrupted")
                self._follow(process, tail, observer)
        finally:
            if process.poll() is None:  # we are leaving abnormally: leave no crawler behind
                self._signal(signal.SIGKILL)
                process.wait()
        return CrawlOutcome(
            exit_code=process.returncode,
            final_line=self._final_line,
            stopped_because=self._stopped_because,
            log_tail=self.log_tail(),
        )

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "crawler",
            "run",
            "--job-file",
            str(self.workdir / JOB_FILE),
            "--progress-file",
            str(self.workdir / PROGRESS_FILE),
        ]

    def log_tail(self, limit: int = 8000) -> str:
        log = self.workdir / LOG_FILE
        if not log.is_file():
            return ""
        with log.open("rb") as file:
            file.seek(max(0, log.stat().st_size - limit))
            return file.read().decode("utf-8", errors="replace")

    def _start(self) -> subprocess.Popen[bytes]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / JOB_FILE).write_text(json.dumps(self._job, indent=2), encoding="utf-8")
        (self.workdir / PROGRESS_FILE).unlink(missing_ok=True)
        with (self.workdir / LOG_FILE).open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self._cwd,
                env=crawler_environment(self._token),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach it and only it
            )
        return self._process

    def _follow(
        self, process: subprocess.Popen[bytes], tail: ProgressTail, observer: CrawlObserver
    ) -> None:
        while True:
            ended = process.poll() is not None
            lines = tail.read_new()  # after poll(): a crawler that has ended wrote its last line
            if lines and lines[-1].get("final"):
                self._final_line = lines[-1]
            observer.progress(lines)
            if ended:
                return
            if self._stopped_because is None:
                reason = observer.stop_reason()
                if reason is not None:
                    self._stop(reason)
            elif time.monotonic() - self._stop_sent_at > self._grace:
                self._signal(signal.SIGKILL)
            time.sleep(self._poll)

    def _stop(self, reason: str) -> None:
        """SIGTERM: the crawler flushes its last batch, writes its final line and exits (5)."""
        self._stopped_because = self._stopped_because or reason
        self._stop_sent_at = time.monotonic()
        self._signal(signal.SIGTERM)

    def _signal(self, number: int) -> None:
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError):  # it has just exited
            os.killpg(self._process.pid, number)
