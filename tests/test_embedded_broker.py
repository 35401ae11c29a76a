"""The quick start's embedded defaults (SQLite, filesystem broker) keep every file under
VERITY_VAR_DIR, wherever it starts, and need nothing to exist there beforehand."""

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


def embedded_env(var_dir: Path) -> dict[str, str]:
    """This process's environment without the services: the quick start's defaults apply."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_BROKER_URL", "DATABASE_URL", "VERITY_CACHE_URL"}
    }
    return env | {"VERITY_VAR_DIR": str(var_dir), "PYTHONPATH": str(REPO_ROOT)}


def test_the_filesystem_broker_writes_only_under_the_var_folder(tmp_path):
    started_in = tmp_path / "cwd"
    started_in.mkdir()
    env = embedded_env(tmp_path / "var")

    subprocess.run([sys.executable, "-c", PUBLISH], cwd=started_in, env=env, check=True)

    assert list(started_in.iterdir()) == []
    broker = tmp_path / "var" / "broker"
    assert any((broker / "queue").iterdir())  # the task message
    assert any((broker / "control").glob("*.exchange"))  # the exchange table


def test_a_fresh_clone_migrates_its_embedded_database_without_a_var_folder(tmp_path):
    var_dir = tmp_path / "fresh" / "var"  # nothing there yet, as in a new clone
    env = embedded_env(var_dir)
    load_settings = "import sys; sys.path.insert(0, 'platform'); import verity.settings"

    # SQLite creates its file but not its folder: the settings make the folder
    subprocess.run([sys.executable, "-c", load_settings], cwd=REPO_ROOT, env=env, check=True)
    assert var_dir.is_dir()

    migrate = [sys.executable, str(REPO_ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=REPO_ROOT, env=env, check=True, timeout=300)
    assert (var_dir / "verity.sqlite3").stat().st_size > 0
