"""Chromium (Debian's, never a downloaded one) with the unpacked Verity extension loaded, for
browser tests of the extension and for the platform's end-to-end tests:

    with launch_extension_browser(profile_dir, settings={"serverUrl": url, "teamToken": token},
                                  artifacts_dir=ARTIFACTS_DIR) as browser:
        page = browser.open(site.url("/gallery.html", host=PUBLIC_TEST_HOST))
        browser.wait_for_states(page, {"lead": "likely_ai"})
        browser.screenshot(page, "gallery")

Settings are written to chrome.storage.local through the extension's service worker before any
page opens (keys as in extension_api/extension/lib/settings.js). Inside this browser the host
name PUBLIC_TEST_HOST resolves to 127.0.0.1, so a local page can look like a public web site
(whose images the server fetches itself, instead of receiving uploads); every other name
resolves nowhere, so nothing can leave the machine.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Frame, Page, Playwright, Worker

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO_ROOT / "extension_api" / "extension"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "extension"
CHROMIUM = Path(os.environ.get("VERITY_CHROMIUM", "/usr/bin/chromium"))
PUBLIC_TEST_HOST = "photos.example.com"
# The id the manifest's development `key` gives the unpacked extension: its CORS origin is
# chrome-extension://<this id>. (The store assigns the published extension its own id.)
DEV_EXTENSION_ID = "mkkilanomfjafdfeanlkclebpadibndb"

# Headless Chromium that runs extensions, makes no call home, and resolves only what tests use.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
    f"--host-resolver-rules=MAP {PUBLIC_TEST_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)

# The page's end state of every picture, as the content script marks it.
READ_STATES_JS = """() => Object.fromEntries(
  [...document.querySelectorAll("[id][data-verity-state]")].map((element) => [
    element.id,
    element.dataset.verityState === "skipped"
      ? `skipped:${element.dataset.veritySkip}`
      : element.dataset.verityState,
  ]))"""

# Every visible badge, with the id of the picture it sits on (found by where it is drawn).
READ_BADGES_JS = """() => {
  const layer = document.querySelector("verity-overlay")?.shadowRoot;
  if (!layer) return [];
  const pictures = [...document.querySelectorAll("[id][data-verity-state]")];
  return [...layer.querySelectorAll(".badge")].filter((badge) => !badge.hidden).map((badge) => {
    const box = badge.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const under = pictures.find((picture) => {
      const r = picture.getBoundingClientRect();
      return x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
    });
    return { on: under?.id ?? null, kind: badge.className.replace("badge badge--", ""),
             text: badge.textContent, label: badge.getAttribute("aria-label") };
  });
}"""


@dataclass(frozen=True)
class Badge:
    on: str | None  # the id of the picture under it
    kind: str  # ai, inconclusive, real, checking, problem
    text: str
    label: str


@dataclass
class ExtensionBrowser:
    """A browser context with the extension loaded, and what the tests need to drive it."""

    context: BrowserContext
    service_worker: Worker
    artifacts_dir: Path
    page_errors: list[str] = field(default_factory=list)

    @property
    def extension_id(self) -> str:
        return urlsplit(self.service_worker.url).netloc

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Merges these settings over the stored ones; returns the result."""
        return self.service_worker.evaluate(
            """async (overrides) => {
                const { settings = {} } = await chrome.storage.local.get("settings");
                const next = { ...settings, ...overrides };
                await chrome.storage.local.set({ settings: next });
                return next;
            }""",
            settings,
        )

    def storage(self) -> dict[str, Any]:
        return self.service_worker.evaluate("() => chrome.storage.local.get(null)")

    def open(self, url: str) -> Page:
        """A new tab at url, its console errors and uncaught exceptions collected."""
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"pageerror: {error}"))
        page.on("console", lambda message: self._collect_console_error(message))
        page.goto(url)
        return page

    def states(self, page: Page | Frame) -> dict[str, str]:
        """id -> data-verity-state ("skipped:<reason>" for skipped pictures)."""
        return page.evaluate(READ_STATES_JS)

    def wait_for_states(
        self, page: Page | Frame, expected: Mapping[str, str], timeout: float = 10
    ) -> dict[str, str]:
        """Waits until each picture named in expected is in its state; fails with the difference."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(page)
            wrong = {
                key: states.get(key) for key, want in expected.items() if states.get(key) != want
            }
            if not wrong:
                return states
            if time.monotonic() > deadline:
                whole_page = page if isinstance(page, Page) else page.page
                shot = self.screenshot(whole_page, "timed-out-waiting-for-states")
                wanted = {key: expected[key] for key in wrong}
                raise AssertionError(
                    f"pictures not in the expected state after {timeout} s: got {wrong}, "
                    f"want {wanted} (screenshot: {shot})"
                )
            page.wait_for_timeout(100)

    def expected_states(self, page: Page) -> dict[str, str]:
        """What the page itself says each picture must end as (data-expect attributes)."""
        return page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll("[data-expect]")]
                .map((element) => [element.id, element.dataset.expect]))"""
        )

    def badges(self, page: Page | Frame) -> list[Badge]:
        page.wait_for_timeout(50)  # badges are placed on the next animation frame
        return [Badge(**badge) for badge in page.evaluate(READ_BADGES_JS)]

    def scroll_through(self, page: Page, step: int = 500, pause_ms: int = 120) -> None:
        """Scrolls to the bottom the way a person would, letting lazy content arrive."""
        at_bottom = "() => innerHeight + scrollY >= document.body.scrollHeight - 2"
        while True:
            page.mouse.wheel(0, step)
            page.wait_for_timeout(pause_ms)
            if page.evaluate(at_bottom):
                page.wait_for_timeout(pause_ms * 3)  # an endless feed may add more now
                if page.evaluate(at_bottom):
                    return

    def tab_id(self, page: Page) -> int:
        return self.service_worker.evaluate(
            """async (url) => (await chrome.tabs.query({})).find((tab) => tab.url === url)?.id""",
            page.url,
        )

    def check_with_context_menu(
        self, page: Page, selector: str, frame: Frame | None = None
    ) -> None:
        """Right-clicks the image (in page, or in one of its frames) and picks "Check this image
        with Verity". The menu cannot be drawn headless, so its click handler is called with
        what Chrome would pass it."""
        target = frame or page.main_frame
        target.click(selector, button="right")
        src = target.eval_on_selector(selector, "(img) => img.currentSrc || img.src")
        self.service_worker.evaluate(
            """async ([tabId, frameUrl, srcUrl]) => {
                const frames = await chrome.scripting.executeScript({
                    target: { tabId, allFrames: true }, func: () => location.href });
                const { frameId } = frames.find((frame) => frame.result === frameUrl);
                const tab = await chrome.tabs.get(tabId);
                const info = { menuItemId: verity.contextMenuId, srcUrl, frameId,
                               pageUrl: tab.url, editable: false };
                await verity.onContextMenuClicked(info, tab);
            }""",
            [self.tab_id(page), target.url, src],
        )

    def open_popup(self, page: Page) -> Page:
        """The toolbar popup, as it would show for page's tab."""
        popup = self.context.new_page()
        popup.set_viewport_size({"width": 340, "height": 320})
        popup.goto(
            f"chrome-extension://{self.extension_id}/popup/popup.html?tab={self.tab_id(page)}"
        )
        return popup

    def open_options(self) -> Page:
        options = self.context.new_page()
        options.goto(f"chrome-extension://{self.extension_id}/options/options.html")
        return options

    def screenshot(self, page: Page, name: str) -> Path:
        """Saves what the page shows now, badges included (they move on animation frames)."""
        page.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        path = self.artifacts_dir / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    def _collect_console_error(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.page_errors.append(f"console: {message.text} ({json.dumps(message.location)})")


@contextmanager
def launch_extension_browser(
    playwright: Playwright,
    profile_dir: Path,
    *,
    settings: Mapping[str, Any],
    artifacts_dir: Path = ARTIFACTS_DIR,
    extension_dir: Path = EXTENSION_DIR,
    viewport: Mapping[str, int] | None = None,
) -> Iterator[ExtensionBrowser]:
    """Chromium with the unpacked extension, a fresh profile, and these settings stored."""
    context = playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=str(CHROMIUM),
        headless=False,  # --headless=new below: the headless mode that runs extensions
        args=[
            *CHROMIUM_FLAGS,
            f"--disable-extensions-except={extension_dir}",
            f"--load-extension={extension_dir}",
        ],
        viewport=dict(viewport or {"width": 1280, "height": 800}),
    )
    try:
        worker = (
            context.service_workers[0]
            if context.service_workers
            else context.wait_for_event("serviceworker", timeout=15_000)
        )
        browser = ExtensionBrowser(
            context=context, service_worker=worker, artifacts_dir=artifacts_dir
        )
        browser.configure(**settings)
        yield browser
    finally:
        context.close()


@contextmanager
def extension_browsers(
    playwright: Playwright, profile_root: Path, artifacts_dir: Path
) -> Iterator[Callable[..., ExtensionBrowser]]:
    """launch(**settings) -> a browser with the extension and these settings, each with a fresh
    profile under profile_root; all closed when the block ends. Screenshots go to artifacts_dir,
    emptied first so that it holds only this run's."""
    shutil.rmtree(artifacts_dir, ignore_errors=True)
    profiles = itertools.count()
    with ExitStack() as open_browsers:

        def launch(**settings: Any) -> ExtensionBrowser:
            return open_browsers.enter_context(
                launch_extension_browser(
                    playwright,
                    profile_root / f"profile-{next(profiles)}",
                    settings=settings,
                    artifacts_dir=artifacts_dir,
                )
            )

        yield launch
