"""The quick start's embedded broker keeps every file under VERITY_VAR_DIR, wherever it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

PUBLISH = """
from workers.celery import app
app.send_task("workers.io_tasks.does_not_matter", queue="io")
"""


def test_the_filesystem_broker_writes_only_under_the_var_folder(tmp_path):
    started_in = tmp_path / "cwd"
    started_in.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_BROKER_URL", "DATABASE_URL", "VERITY_CACHE_URL"}
    }
    env |= {"VERITY_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(REPO_ROOT)}

    subprocess.run([sys.executable, "-c", PUBLISH], cwd=started_in, env=env, check=True)

    assert list(started_in.iterdir()) == []
    broker = tmp_path / "var" / "broker"
    assert any((broker / "queue").iterdir())  # the task message
    assert any((broker / "control").glob("*.exchange"))  # the exchange table
