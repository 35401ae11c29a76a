"""Fixtures for the extension's browser tests (marker `browser`); see browser_harness.py."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright, sync_playwright

from tests.extension.browser_harness import (
    ARTIFACTS_DIR,
    CHROMIUM,
    ExtensionBrowser,
    launch_extension_browser,
)
from tests.extension.fake_verity import FakeVerity, running_fake_verity
from tests.extension.site_server import LocalSite, running_site


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set VERITY_CHROMIUM)")
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def local_site() -> Iterator[LocalSite]:
    with running_site() as site:
        yield site


@pytest.fixture
def fake_verity() -> Iterator[FakeVerity]:
    with running_fake_verity() as fake:
        yield fake


@pytest.fixture
def unreachable_server_url() -> str:
    """An http:// URL on 127.0.0.1 where nothing listens: the Verity server is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def extension_browser(
    playwright: Playwright, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ExtensionBrowser]]:
    """launch(**settings) -> a browser with the extension and these settings; one per test,
    closed afterwards. Screenshots go to test-artifacts/extension/<test name>/."""
    launched: list[Any] = []
    artifacts_dir = ARTIFACTS_DIR / request.node.name
    shutil.rmtree(artifacts_dir, ignore_errors=True)  # only this run's screenshots

    def launch(**settings: Any) -> ExtensionBrowser:
        manager = launch_extension_browser(
            playwright,
            tmp_path / f"profile-{len(launched)}",
            settings=settings,
            artifacts_dir=artifacts_dir,
        )
        launched.append(manager)
        return manager.__enter__()

    yield launch
    for manager in reversed(launched):
        manager.__exit__(None, None, None)
