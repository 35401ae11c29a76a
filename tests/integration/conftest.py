"""Integration fixtures: real Celery workers on the real Redis broker, sharing the test database
(PostgreSQL) and media folder with the test process, and a local HTTP server for images."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.support import StaticServer, WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def integration_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="session")
def worker_env(django_db_setup: None, integration_dir: Path) -> dict[str, str]:
    """What a worker needs to see the test database, broker and media, and fetch from 127.0.0.1."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need PostgreSQL: run them with `make test`")
    host = database.get("HOST") or "127.0.0.1"
    url = f"postgres://{database['USER']}@{host}:{database.get('PORT') or 5432}/{database['NAME']}"
    return {
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VERITY_CACHE_URL": os.environ.get("VERITY_CACHE_URL", ""),
        "VERITY_MEDIA_ROOT": str(integration_dir / "media"),
        "VERITY_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "VERITY_MODEL_RELOAD_CHECK_SECONDS": "0",
        "VERITY_SCORING_BATCH_WAIT_MS": "20",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def shared_media(settings: pytest.FixtureRequest, worker_env: dict[str, str]) -> None:
    """The test process stores uploads where the workers read them."""
    settings.MEDIA_ROOT = worker_env["VERITY_MEDIA_ROOT"]


@pytest.fixture
def empty_queues() -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("io", "gpu")


@pytest.fixture(scope="session")
def image_server() -> Iterator[StaticServer]:
    server = StaticServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_worker(
    worker_env: dict[str, str], integration_dir: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real workers; each is stopped when the module ends."""
    started: list[WorkerProcess] = []

    def start(queues: str, **options: object) -> WorkerProcess:
        env = {**worker_env, **options.pop("env", {})}  # type: ignore[dict-item]
        worker = WorkerProcess(
            queues=queues,
            env=env,
            log_path=integration_dir / f"worker-{queues}-{len(started)}.log",
            **options,
        )  # type: ignore[arg-type]
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
