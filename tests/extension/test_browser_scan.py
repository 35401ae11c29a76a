"""The content script in a real Chromium, against the fake Verity server (fake_verity.py) on a
local test site (site/): which pictures it checks, which it skips, what a person sees, and how
quiet it stays when the server is down."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.extension.browser_harness import PUBLIC_TEST_HOST
from tests.extension.fake_verity import TEAM_TOKEN

pytestmark = pytest.mark.browser

BELOW_THE_FOLD = {"below-lazy", "js-lazy"}
FIRST_SCREEN = {"hero", "lead", "real", "unsure", "logo", "icon", "dynamic"}


def gallery_url(site, host=PUBLIC_TEST_HOST):
    return site.url("/gallery.html", host=host)


def checked(expected_states):
    """The ids of the pictures that must be checked (not skipped)."""
    return {key for key, state in expected_states.items() if not state.startswith("skipped:")}


def test_it_checks_exactly_the_pictures_a_person_sees(extension_browser, fake_verity, local_site):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(gallery_url(local_site))
    first_screen = {k: v for k, v in browser.expected_states(page).items() if k in FIRST_SCREEN}
    browser.wait_for_states(page, first_screen)
    browser.screenshot(page, "1-first-screen")

    states = browser.states(page)
    assert {states[key] for key in BELOW_THE_FOLD} == {"waiting"}, "not seen yet, not checked yet"
    assert not any("below" in url or "jslazy" in url for url in fake_verity.asked_urls())

    browser.scroll_through(page)
    expected = browser.expected_states(page)  # now with the feed's pictures
    assert {"feed-3-ai", "feed-3-real"} <= expected.keys(), "the endless feed ran three times"
    browser.wait_for_states(page, expected)
    browser.screenshot(page, "2-scrolled-to-the-end")

    asked = fake_verity.asked_urls()
    assert len(asked) == len(set(asked)), f"each picture is asked about once: {Counter(asked)}"
    shown_urls = page.evaluate(
        """(ids) => ids.map((id) => {
            const element = document.getElementById(id);
            if (element.localName === "img") return element.currentSrc;
            return getComputedStyle(element).backgroundImage.match(/url\\("(.*)"\\)/)[1];
        })""",
        sorted(checked(expected)),
    )
    assert sorted(asked) == sorted(shown_urls), "exactly the pictures shown, by the URL shown"


def test_it_asks_about_the_candidate_the_browser_shows(extension_browser, fake_verity, local_site):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(gallery_url(local_site))
    browser.wait_for_states(page, {"srcset": "likely_ai", "picture": "likely_ai"})

    asked = {url.rsplit("/", 1)[-1] for url in fake_verity.asked_urls()}
    assert "ai-wide-1280x720.jpg" in asked, "srcset: the 1280w candidate, for a 640px slot"
    assert "ai-river-400x360.webp" in asked, "<picture>: the WebP source Chromium chose"
    assert not asked & {"real-thumb-320x180.jpg", "real-river-400x360.jpg"}, (
        "never the fallback src"
    )


def test_page_urls_stay_private_unless_the_person_opts_in(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(gallery_url(local_site))
    browser.wait_for_states(page, {"lead": "likely_ai"})
    assert all("page_url" not in r.body for r in fake_verity.requests_to("/page-checks"))

    browser.configure(sendPageUrls=True)
    page = browser.open(local_site.url("/strict-csp.html", host=PUBLIC_TEST_HOST))
    browser.wait_for_states(page, {"locked": "likely_ai"})
    locked = page.eval_on_selector("#locked", "img => img.currentSrc")
    [request] = [
        r for r in fake_verity.requests_to("/page-checks") if {"url": locked} in r.body["images"]
    ]
    assert request.body["page_url"] == page.url


def test_badges_mark_ai_clearly_inconclusive_discreetly_and_real_not_at_all(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(gallery_url(local_site))
    browser.wait_for_states(
        page,
        {"hero": "likely_ai", "lead": "likely_ai", "real": "likely_real", "unsure": "inconclusive"},
    )

    badges = {badge.on: badge for badge in browser.badges(page)}
    assert badges["lead"].kind == "ai" and badges["lead"].text == "AI 97%"
    assert badges["hero"].kind == "ai"
    assert badges["unsure"].kind == "inconclusive" and badges["unsure"].text == "?"
    assert "real" not in badges, "likely real: no mark by default"
    assert badges["lead"].label.startswith("Verity: Likely AI-generated (97% chance of AI)")

    browser.configure(realImageBadge="faint")
    page.wait_for_timeout(300)
    badges = {badge.on: badge for badge in browser.badges(page)}
    assert badges["real"].kind == "real", "the faint mark, as soon as the person asks for it"
    browser.screenshot(page, "badges-with-faint-real-mark")


def test_a_badge_shows_the_why_and_keeps_its_clicks_to_itself(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(gallery_url(local_site))
    browser.wait_for_states(page, {"lead": "likely_ai", "unsure": "inconclusive"})
    layer = page.locator("verity-overlay")
    card = layer.locator(".card")
    assert layer.evaluate("(host) => getComputedStyle(host).position") == "fixed", "out of the flow"
    assert layer.evaluate("(host) => getComputedStyle(host).pointerEvents") == "none"
    assert page.evaluate("document.elementFromPoint(200, 600).id") == "lead", (
        "clicks reach the page"
    )

    layer.locator(".badge--ai").nth(1).hover()  # the lead picture's (the hero's is first)
    card.wait_for(state="visible")
    text = card.inner_text()
    for fact in (
        "Likely AI-generated",
        "97%",
        "verity-ensemble-test",
        "cnn",
        "resnet50",
        "no face found",
    ):
        assert fact in text, fact
    history = card.get_by_role("link")
    assert history.get_attribute("href").startswith("http://127.0.0.1:9/images/")
    assert history.get_attribute("target") == "_blank"
    browser.screenshot(page, "details-card-on-hover")

    layer.locator(".badge--ai").nth(1).click()
    assert page.evaluate("location.hash") == "", "the link under the badge was not followed"
    layer.locator(".badge--inconclusive").click()
    assert "The detectors disagree about this image." in card.inner_text()
    browser.screenshot(page, "details-card-inconclusive")

    page.keyboard.press("Escape")
    page.mouse.click(5, 700)
    card.wait_for(state="hidden")


def test_with_the_server_down_the_page_stays_quiet_and_clickable(
    extension_browser, unreachable_server_url, local_site
):
    browser = extension_browser(serverUrl=unreachable_server_url)
    page = browser.open(gallery_url(local_site))
    expected = browser.expected_states(page)
    quiet = {
        key: (state if state.startswith("skipped:") else "unavailable")
        for key, state in expected.items()
        if key in FIRST_SCREEN
    }
    browser.wait_for_states(page, quiet)
    browser.screenshot(page, "server-down")

    assert browser.badges(page) == []
    assert page.locator("verity-overlay").count() == 0, "not even an empty layer"
    page.click("#lead")
    assert page.evaluate("location.hash") == "#clicked-link", "a picture inside a link still works"
    page.click("#counter")
    assert page.inner_text("#counter") == "Clicked 1 times"
    assert browser.page_errors == []


def test_a_failing_server_gets_a_few_requests_not_one_per_picture(
    extension_browser, fake_verity, local_site
):
    fake_verity.outage_status = 503
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    started = time.monotonic()
    page = browser.open(gallery_url(local_site))
    browser.wait_for_states(page, {"lead": "unavailable", "hero": "unavailable"})
    browser.scroll_through(page)
    page.wait_for_timeout(1000)

    pictures = len(checked(browser.expected_states(page)))
    requests = len(fake_verity.requests)
    assert pictures >= 14
    # After its k-th failure in a row the worker waits at least 0.5 s * 2^(k-1) (half its
    # doubling ceiling), so in `elapsed` seconds it can probe only a handful of times.
    elapsed = time.monotonic() - started
    allowed = 1 + sum(1 for k in range(1, 30) if 0.5 * (2**k - 1) <= elapsed)
    assert requests <= allowed, f"{requests} requests for {pictures} pictures in {elapsed:.1f} s"
    assert browser.badges(page) == []
    assert browser.page_errors == []


def test_badges_work_on_a_page_that_forbids_scripts_and_styles(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(local_site.url("/strict-csp.html", host=PUBLIC_TEST_HOST))
    browser.wait_for_states(page, {"locked": "likely_ai", "plain": "likely_real"})

    assert [(b.on, b.kind) for b in browser.badges(page)] == [("locked", "ai")]
    badge_colour = page.evaluate(
        """() => getComputedStyle(document.querySelector("verity-overlay")
                 .shadowRoot.querySelector(".badge")).backgroundColor"""
    )
    assert badge_colour == "rgb(179, 38, 30)", "the badge's own styles apply despite the CSP"
    browser.screenshot(page, "strict-csp")


def test_two_tabs_showing_the_same_pictures_share_one_request_each(
    extension_browser, fake_verity, local_site
):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    first = browser.open(gallery_url(local_site))
    second = browser.open(gallery_url(local_site) + "?again")
    for page in (first, second):
        browser.wait_for_states(page, {"lead": "likely_ai", "unsure": "inconclusive"})

    asked = fake_verity.asked_urls()
    assert len(asked) == len(set(asked)), Counter(asked)


def test_a_picture_that_changes_source_is_judged_anew(extension_browser, fake_verity, local_site):
    browser = extension_browser(serverUrl=fake_verity.url, teamToken=TEAM_TOKEN)
    page = browser.open(gallery_url(local_site))
    browser.wait_for_states(page, {"lead": "likely_ai"})
    assert "lead" in {badge.on for badge in browser.badges(page)}

    page.eval_on_selector("#lead", "(img) => { img.src = '/img/real-next-slide-480x320.jpg'; }")
    browser.wait_for_states(page, {"lead": "likely_real"})
    assert "lead" not in {badge.on for badge in browser.badges(page)}, "the old badge went"
