"""Fixtures for the extension's browser tests (marker `browser`); see browser_harness.py."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Playwright, sync_playwright

from tests.extension.browser_harness import (
    ARTIFACTS_DIR,
    CHROMIUM,
    ExtensionBrowser,
    extension_browsers,
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
    with extension_browsers(playwright, tmp_path, ARTIFACTS_DIR / request.node.name) as launch:
        yield launch
