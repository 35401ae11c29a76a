"""The Verity web server as production runs it (gunicorn, see Procfile) in a process of its own,
for tests that take the server down for real. (Stopping pytest-django's in-thread live server
closes its listening socket only: the browser's kept-alive connections go on being served.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT, wait_for

LISTENING = re.compile(rb"Listening at: http://127\.0\.0\.1:(\d+)")


@dataclass
class WebServerProcess:
    env: Mapping[str, str]  # merged over this process's environment
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "not started"
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> WebServerProcess:
        """Starts gunicorn on a free port (it picks one: no race) and waits until it listens."""
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [
            str(gunicorn),
            "--pythonpath",
            "platform",
            "verity.wsgi",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--threads",
            "4",  # long polls hold a thread each
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._listening, timeout=timeout, what="gunicorn to listen")
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group: the server is gone, every connection with it."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
        found = LISTENING.search(self.log_path.read_bytes())
        if found:
            self.port = int(found[1])
        return found is not None
