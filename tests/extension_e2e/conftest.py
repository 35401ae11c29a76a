"""Fixtures for the extension's end-to-end tests: Debian's Chromium with the unpacked extension,
a live Verity server (pytest-django's `live_server`, on the test database), real io and gpu
Celery workers scoring with the shipped ensemble, and a page of data-set pictures on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.extension import conftest as extension_fixtures
from tests.extension.browser_harness import (
    CHROMIUM,
    DEV_EXTENSION_ID,
    REPO_ROOT,
    ExtensionBrowser,
    extension_browsers,
)
from tests.extension_e2e.dataset_gallery import (
    GallerySite,
    ModelJudgement,
    judge_with_shipped_model,
    read_pictures,
    running_gallery,
)
from tests.extension_e2e.server_process import WebServerProcess
from tests.integration import conftest as integration_fixtures
from tests.support import WorkerProcess
from training.artefacts import default_artefact_path

ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "extension_e2e"

# Borrowed fixtures. From the integration tests: workers that share the test database, broker
# and media folder with this process. From the browser tests: a server URL where nothing listens.
worker_env = integration_fixtures.worker_env
integration_dir = integration_fixtures.integration_dir
shared_media = integration_fixtures.shared_media
empty_queues = integration_fixtures.empty_queues
start_worker = integration_fixtures.start_worker
unreachable_server_url = extension_fixtures.unreachable_server_url


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for one module. Its sync API keeps an asyncio loop running on this thread for
    as long as it lives, and Django refuses database calls from a thread with a running loop: the
    tests (and the database flush after each) may make them, since the loop is Playwright's and
    runs no Django code. Ending with the module leaves later Django tests a thread without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set VERITY_CHROMIUM)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as instance:
            yield instance


@pytest.fixture
def extension_browser(
    playwright: Playwright, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ExtensionBrowser]]:
    """launch(**settings) -> Chromium with the extension and these settings, fresh profile;
    closed after the test. Screenshots go to test-artifacts/extension_e2e/<test name>/."""
    with extension_browsers(playwright, tmp_path, ARTIFACTS_DIR / request.node.name) as launch:
        yield launch


@pytest.fixture(scope="module")
def pictures(data_dir: Path) -> dict[str, bytes]:
    """Picture id -> the bytes the gallery serves."""
    return read_pictures(data_dir)


@pytest.fixture(scope="module")
def model_judgement(pictures: dict[str, bytes]) -> ModelJudgement:
    """What the ensemble the platform serves (ml/weights, or VERITY_MODEL_PATH) says about each
    picture: the bands the extension must show."""
    return judge_with_shipped_model(pictures, default_artefact_path())


@pytest.fixture(scope="module")
def gallery(pictures: dict[str, bytes]) -> Iterator[GallerySite]:
    with running_gallery(pictures) as site:
        yield site


@pytest.fixture(scope="module")
def workers(start_worker: Callable[..., WorkerProcess]) -> None:
    """A fetching worker and a scoring worker (the shipped ensemble), for the whole module."""
    start_worker("io", pool="threads", concurrency=4)
    start_worker("gpu")


@pytest.fixture
def platform_behind(
    settings: Any, shared_media: None, empty_queues: None, workers: None
) -> Callable[[str], str]:
    """serve(url) -> url: the platform as the extension sees it at url, with real workers behind
    it; the dev extension's origin is allowed by CORS and history links point at url."""

    def serve(url: str) -> str:
        settings.CORS_ALLOWED_ORIGINS = [f"chrome-extension://{DEV_EXTENSION_ID}"]
        settings.VERITY_PUBLIC_URL = url
        return url

    return serve


@pytest.fixture
def verity_server(live_server: LiveServer, platform_behind: Callable[[str], str]) -> str:
    """The live Verity server (pytest-django's, shared by the session), by its 127.0.0.1 URL."""
    return platform_behind(f"http://127.0.0.1:{live_server.thread.port}")


@pytest.fixture
def verity_server_process(
    transactional_db: None,
    worker_env: dict[str, str],
    integration_dir: Path,
    shared_media: None,
    empty_queues: None,
    workers: None,
) -> Iterator[WebServerProcess]:
    """The platform's web server in a gunicorn process of its own (on the test database, with
    the workers behind it), which the test may kill."""
    server = WebServerProcess(
        env={**worker_env, "VERITY_EXTENSION_ORIGINS": f"chrome-extension://{DEV_EXTENSION_ID}"},
        log_path=integration_dir / "gunicorn.log",
    )
    yield server.start()
    server.kill()
