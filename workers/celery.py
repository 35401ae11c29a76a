"""The one Celery app. Queues: ``io`` (fetch, decode, deduplicate), ``gpu`` (score in batches).

Run ``celery -A workers worker -Q io`` and ``celery -A workers worker -Q gpu --concurrency 1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from celery import Celery

# platform/ is a plain folder on sys.path (see manage.py): the Django project and apps live there.
PLATFORM_DIR = Path(__file__).resolve().parents[1] / "platform"
if str(PLATFORM_DIR) not in sys.path:
    sys.path.insert(1, str(PLATFORM_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verity.settings")

app = Celery("verity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.include = [
    "workers.io_tasks",
    "workers.gpu_tasks",
    "workers.maintenance_tasks",
    "workers.notify_tasks",
    "workers.train_tasks",
    "workers.crawl_tasks",
]


def _ensure_filesystem_broker_folders() -> None:
    """The embedded broker keeps messages as files; kombu expects its folders to exist."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)


if str(app.conf.broker_url).startswith("filesystem"):
    _ensure_filesystem_broker_folders()
