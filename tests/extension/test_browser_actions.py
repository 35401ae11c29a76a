"""What a person does with the extension in a real Chromium: the context menu, the popup, the
options page; and the paths that need no click: registering, uploading bytes the server cannot
fetch (blob: URLs, private networks)."""

from __future__ import annotations

import pytest

from tests.extension.browser_harness import DEV_EXTENSION_ID, PUBLIC_TEST_HOST
from tests.extension.fake_verity import TEAM_TOKEN
from tests.extension.site_server import drawn_image

pytestmark = pytest.mark.browser


def test_the_context_menu_checks_an_image_with_auto_scan_off(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN, autoScan=False)
    page = browser.open(local_site.url("/gallery.html", host=PUBLIC_TEST_HOST))
    page.wait_for_timeout(1000)
    assert browser.states(page) == {}, "nothing is scanned"
    assert fake_verity.requests == []

    browser.check_with_context_menu(page, "#real")
    browser.wait_for_states(page, {"real": "likely_real"})
    assert fake_verity.asked_urls() == [page.eval_on_selector("#real", "img => img.currentSrc")]
    badges = browser.badges(page)
    assert [(b.on, b.kind) for b in badges] == [("real", "real")], "asked for: always answered"
    card = page.locator("verity-overlay .card")
    card.wait_for(state="visible")
    assert "Likely not AI-generated" in card.inner_text(), "the answer opens by itself"
    browser.screenshot(page, "context-menu-answer")


def test_the_context_menu_reports_a_server_that_is_down(
    extension_browser, unreachable_server_url, local_site
):
    browser = extension_browser(serverUrl=unreachable_server_url, autoScan=False)
    page = browser.open(local_site.url("/gallery.html", host=PUBLIC_TEST_HOST))

    browser.check_with_context_menu(page, "#lead")
    browser.wait_for_states(page, {"lead": "unavailable"})
    assert [(b.on, b.kind) for b in browser.badges(page)] == [("lead", "problem")]
    card = page.locator("verity-overlay .card")
    card.wait_for(state="visible")
    assert "The Verity server could not be reached." in card.inner_text()
    browser.screenshot(page, "context-menu-server-down")
    assert browser.page_errors == []


def test_the_context_menu_brings_verity_into_a_frame_first(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN, autoScan=False)
    page = browser.open(local_site.url("/framed.html", host=PUBLIC_TEST_HOST))
    page.wait_for_function(
        "document.getElementById('post').contentDocument?.readyState === 'complete'"
    )
    frame = next(f for f in page.frames if f.url.endswith("/strict-csp.html"))

    browser.check_with_context_menu(page, "#locked", frame=frame)
    browser.wait_for_states(frame, {"locked": "likely_ai"})
    assert frame.locator("verity-overlay .badge--ai").is_visible()
    browser.screenshot(page, "context-menu-in-a-frame")


def test_a_blob_image_is_read_in_the_page_and_uploaded(extension_browser, fake_verity, local_site):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(local_site.url("/blob.html", host=PUBLIC_TEST_HOST))
    browser.wait_for_states(page, {"made": "likely_ai"})

    [upload] = fake_verity.requests_to("/uploads")
    src = page.eval_on_selector("#made", "img => img.src")
    assert upload.body["src"] == src and src.startswith("blob:")
    assert upload.body["image"].startswith(b"\x89PNG"), "the page's own bytes"
    assert fake_verity.requests_to("/page-checks") == [], "the server cannot fetch a blob: URL"
    assert [(b.on, b.kind) for b in browser.badges(page)] == [("made", "ai")]
    browser.screenshot(page, "blob-image")


def test_images_on_a_private_network_are_uploaded(extension_browser, fake_verity, local_site):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(local_site.url("/gallery.html"))  # 127.0.0.1: the server may not fetch
    browser.wait_for_states(page, {"lead": "likely_ai", "real": "likely_real"})

    assert fake_verity.requests_to("/page-checks") == []
    uploads = {u.body["src"]: u.body["image"] for u in fake_verity.requests_to("/uploads")}
    lead = local_site.url("/img/ai-lead-480x320.jpg")
    assert uploads[lead] == drawn_image("ai-lead", 480, 320, "jpg"), "the very bytes shown"


def test_uploads_can_be_turned_off(extension_browser, fake_verity, local_site):
    browser = extension_browser(
        serverUrl=fake_verity.url, teamToken=TEAM_TOKEN, uploadPrivateImages=False
    )
    page = browser.open(local_site.url("/gallery.html"))
    browser.wait_for_states(page, {"lead": "failed", "real": "failed"})

    assert fake_verity.requests == [], "not a byte, not a URL"
    assert browser.badges(page) == []


def test_a_login_wall_the_server_hits_is_passed_by_uploading(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(local_site.url("/strict-csp.html", host=PUBLIC_TEST_HOST))
    page.evaluate(
        """(src) => { const img = document.getElementById("plain");
                      img.id = "members-only"; img.src = src; }""",
        "/img/private-ai-member-480x320.jpg",
    )
    browser.wait_for_states(page, {"members-only": "likely_ai"})

    url = page.eval_on_selector("#members-only", "img => img.currentSrc")
    assert url in [
        image["url"] for r in fake_verity.requests_to("/page-checks") for image in r.body["images"]
    ]
    assert [u.body["src"] for u in fake_verity.requests_to("/uploads")] == [url]


def test_the_browser_registers_itself_once_on_first_use(extension_browser, fake_verity, local_site):
    browser = extension_browser(serverUrl=fake_verity.url)
    page = browser.open(local_site.url("/gallery.html", host=PUBLIC_TEST_HOST))
    browser.wait_for_states(page, {"lead": "likely_ai", "hero": "likely_ai"})

    [install] = fake_verity.requests_to("/installs")
    assert install.body == {"extension_version": "0.1.0", "browser": "chromium"}
    stored = browser.storage()["install"]
    assert stored["serverUrl"] == fake_verity.url
    tokens = {r.headers["authorization"] for r in fake_verity.requests_to("/page-checks")}
    assert tokens == {f"Bearer {stored['token']}"}


def test_the_popup_sums_up_the_page_and_switches_the_site_off(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(local_site.url("/gallery.html", host=PUBLIC_TEST_HOST))
    expected = browser.expected_states(page)
    browser.wait_for_states(
        page,
        {
            k: v
            for k, v in expected.items()
            if k in {"hero", "lead", "real", "unsure", "dynamic", "srcset", "picture"}
        },
    )
    page.wait_for_timeout(400)

    popup = browser.open_popup(page)
    popup.wait_for_function("document.getElementById('count-checked').textContent !== '0'")
    counts = {
        name: popup.inner_text(f"#count-{name}") for name in ("checked", "flagged", "inconclusive")
    }
    assert counts == {"checked": "7", "flagged": "5", "inconclusive": "1"}
    assert popup.inner_text("#site-host") == PUBLIC_TEST_HOST
    assert popup.is_checked("#site-switch")
    browser.screenshot(popup, "popup")
    toolbar_badge = browser.service_worker.evaluate(
        "(tabId) => chrome.action.getBadgeText({ tabId })", browser.tab_id(page)
    )
    assert toolbar_badge == "5"

    popup.click("#site-switch")
    page.wait_for_function("!document.querySelector('[data-verity-state]')")
    assert browser.storage()["settings"]["blockedSites"] == [PUBLIC_TEST_HOST]
    assert browser.badges(page) == []


def test_the_options_page_saves_what_the_person_chose(extension_browser, fake_verity):
    browser = extension_browser(serverUrl=fake_verity.url)
    assert browser.extension_id == DEV_EXTENSION_ID, "the manifest's key pins it"
    options = browser.open_options()
    assert options.input_value("#server-url") == fake_verity.url

    options.fill("#server-url", "not a server")
    options.click("#save")
    assert options.is_visible("#server-url-error")

    options.fill("#server-url", "https://verity.example.org/")
    options.fill("#team-token", "vrx_from_my_organisation")
    options.uncheck("#auto-scan")
    options.fill("#allowed-sites", "News.Example.com\nhttps://photos.example.net/gallery")
    options.fill("#blocked-sites", "*.bank.example")
    options.check("input[name=realImageBadge][value=faint]")
    options.check("#send-page-urls")
    options.click("#save")
    options.wait_for_selector("#saved:has-text('Saved.')")
    browser.screenshot(options, "options")

    assert browser.storage()["settings"] == {
        "serverUrl": "https://verity.example.org",
        "teamToken": "vrx_from_my_organisation",
        "autoScan": False,
        "allowedSites": ["news.example.com", "photos.example.net"],
        "blockedSites": ["bank.example"],
        "sendPageUrls": True,
        "uploadPrivateImages": True,
        "realImageBadge": "faint",
    }
