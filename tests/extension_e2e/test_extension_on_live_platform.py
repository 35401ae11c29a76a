"""The browser extension against the live platform: Debian's Chromium with the unpacked
extension, a live Verity server, real io and gpu workers scoring with the shipped ensemble, and
a page of real pictures from the data sets. What the extension shows on each picture must be
what the platform's model says about it (scored independently in this process).

Needs PostgreSQL and Redis (as `make test` sets them up) and the shared data sets:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/verity \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 VERITY_CACHE_URL=redis://127.0.0.1:6379/14 \
    .venv/bin/pytest tests/extension_e2e -q

Screenshots: test-artifacts/extension_e2e/<test>/.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest
from playwright.sync_api import Page, expect

from detections.models import Band, CheckItem, ItemStatus, Verdict
from tests.extension.browser_harness import PUBLIC_TEST_HOST, Badge, ExtensionBrowser
from tests.extension_e2e.dataset_gallery import (
    LOADED_LATER,
    ON_THE_PAGE,
    ModelJudgement,
    Picture,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

# From upload to verdict through both queues, on a shared 2-core machine, first model load
# included: generous, since a pass takes seconds.
VERDICT_TIMEOUT_S = 90
# The default badge style: a likely-AI picture gets the red pill, an inconclusive one the
# discreet "?", a likely-real one nothing at all.
BADGE_KIND_BY_BAND = {"likely_ai": "ai", "inconclusive": "inconclusive"}
# The picture under a point (the badge layer lets every point through to the page).
PICTURE_AT_JS = """([x, y]) => document.elementsFromPoint(x, y)
  .find((element) => element.id && element.dataset.verityState)?.id ?? null"""
BAND_TITLES = {
    "likely_ai": "Likely AI-generated",
    "inconclusive": "Inconclusive",
    "likely_real": "Likely not AI-generated",
}


def expected_states(judgement: ModelJudgement, pictures: Iterable[Picture]) -> dict[str, str]:
    return {picture.id: judgement.pictures[picture.id].band for picture in pictures}


def expected_badges(judgement: ModelJudgement, pictures: Iterable[Picture]) -> dict[str, str]:
    """Picture id -> badge kind, for the pictures that get a badge by default."""
    bands = expected_states(judgement, pictures)
    return {
        key: BADGE_KIND_BY_BAND[band] for key, band in bands.items() if band in BADGE_KIND_BY_BAND
    }


def badges_by_picture(badges: list[Badge]) -> dict[str | None, Badge]:
    by_picture = {badge.on: badge for badge in badges}
    assert len(by_picture) == len(badges), f"one badge per picture: {badges}"
    return by_picture


def details_cards(
    browser: ExtensionBrowser, page: Page, judgement: ModelJudgement
) -> dict[str, str]:
    """Picture id -> the text of the details card its badge opens when hovered (each card must
    name the band the model gave that picture); a screenshot of each."""
    layer = page.locator("verity-overlay")
    card = layer.locator(".card")
    texts = {}
    for badge in layer.locator(".badge:visible").all():
        badge.hover()
        box = badge.bounding_box()
        assert box is not None
        centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
        picture_id = page.evaluate(PICTURE_AT_JS, centre)
        expect(card).to_contain_text(BAND_TITLES[judgement.pictures[picture_id].band])
        texts[picture_id] = card.inner_text()
        browser.screenshot(page, f"card-{picture_id}")
        page.mouse.move(0, 0)  # away: the card closes, uncovering the badges beneath it
        expect(card).to_be_hidden()
    return texts


def percent_shown(probability: float) -> str:
    """The badge's percentage (extension_api/extension/lib/verdict-format.js, `percent`)."""
    rounded = round(probability * 100)
    if rounded >= 100 and probability < 1:
        return ">99%"
    if rounded <= 0 < probability:
        return "<1%"
    return f"{rounded}%"


def require_clear_cases(judgement: ModelJudgement) -> None:
    """Badges on exactly the right pictures means something only if the page holds both kinds."""
    on_the_page = {picture.id for picture in ON_THE_PAGE}
    for band in ("likely_ai", "likely_real"):
        assert judgement.ids_in(band) & on_the_page, (
            f"the shipped model ({judgement.model_version}) judges none of the gallery's pictures "
            f"{band}: {judgement.pictures}; pick clearer ones in dataset_gallery.py"
        )


def assert_stored_verdicts_agree(judgement: ModelJudgement, pictures: dict[str, bytes]) -> None:
    """The workers' verdict rows say what the model said here: they ran the shipped ensemble."""
    for picture_id, data in pictures.items():
        expected = judgement.pictures[picture_id]
        verdict = Verdict.objects.select_related("model_version").get(
            image_id=hashlib.sha256(data).hexdigest()
        )
        assert verdict.model_version.label == judgement.model_version
        assert verdict.band == expected.band, picture_id
        assert verdict.probability_ai == pytest.approx(expected.probability_ai, abs=0.01)


def test_badges_appear_on_exactly_the_pictures_the_platform_judges(
    extension_browser, verity_server, gallery, model_judgement, pictures
):
    require_clear_cases(model_judgement)
    browser = extension_browser(serverUrl=verity_server)  # registers itself with the server
    page = browser.open(gallery.page_url(host=PUBLIC_TEST_HOST))
    browser.wait_for_states(
        page, expected_states(model_judgement, ON_THE_PAGE), timeout=VERDICT_TIMEOUT_S
    )
    shot = browser.screenshot(page, "1-judged-by-the-live-platform")

    badges = badges_by_picture(browser.badges(page))
    assert {on: badge.kind for on, badge in badges.items()} == expected_badges(
        model_judgement, ON_THE_PAGE
    ), f"see {shot}"
    for picture_id in model_judgement.ids_in("likely_ai") & badges.keys():
        probability = model_judgement.pictures[picture_id].probability_ai
        assert badges[picture_id].text == f"AI {percent_shown(probability)}"
    for picture_id, text in details_cards(browser, page, model_judgement).items():
        expected = model_judgement.pictures[picture_id]
        assert model_judgement.model_version in text
        if expected.abstain_reason:
            assert expected.abstain_reason not in text, f"{picture_id}: say why in words: {text}"
    on_the_page = {picture.id: pictures[picture.id] for picture in ON_THE_PAGE}
    assert_stored_verdicts_agree(model_judgement, on_the_page)
    assert browser.page_errors == []


def test_a_public_looking_page_sends_urls_then_uploads_what_the_server_cannot_fetch(
    extension_browser, verity_server, gallery, model_judgement
):
    browser = extension_browser(serverUrl=verity_server)
    page = browser.open(gallery.page_url(host=PUBLIC_TEST_HOST))
    browser.wait_for_states(
        page, expected_states(model_judgement, ON_THE_PAGE), timeout=VERDICT_TIMEOUT_S
    )

    # The server cannot resolve the page's host (only the browser maps it to 127.0.0.1), so
    # each picture's URL fails there, and the extension sends the bytes it shows instead.
    for picture in ON_THE_PAGE:
        url = gallery.picture_url(picture.id, host=PUBLIC_TEST_HOST)
        tried = sorted(
            (bool(upload_name), status, error_code)
            for upload_name, status, error_code in CheckItem.objects.filter(url=url).values_list(
                "upload_name", "status", "error_code"
            )
        )
        assert tried == [
            (False, ItemStatus.FAILED, "host_unresolvable"),
            (True, ItemStatus.DONE, ""),
        ], picture.id


def test_pictures_on_a_private_network_are_uploaded_straight_away(
    extension_browser, verity_server, gallery, model_judgement
):
    browser = extension_browser(serverUrl=verity_server)
    page = browser.open(gallery.page_url(host="127.0.0.1"))
    browser.wait_for_states(
        page, expected_states(model_judgement, ON_THE_PAGE), timeout=VERDICT_TIMEOUT_S
    )
    browser.screenshot(page, "judged-from-uploads")

    items = list(CheckItem.objects.values_list("url", "upload_name", "status"))
    assert sorted(url for url, _, _ in items) == sorted(
        gallery.picture_url(picture.id) for picture in ON_THE_PAGE
    ), "one request per picture: no URL the server may not fetch was sent"
    assert all(upload_name and status == ItemStatus.DONE for _, upload_name, status in items)
    assert {on: b.kind for on, b in badges_by_picture(browser.badges(page)).items()} == (
        expected_badges(model_judgement, ON_THE_PAGE)
    )


def test_a_picture_added_later_gets_checked_and_badged(
    extension_browser, verity_server, gallery, model_judgement
):
    browser = extension_browser(serverUrl=verity_server)
    page = browser.open(gallery.page_url(host=PUBLIC_TEST_HOST))
    browser.wait_for_states(
        page, expected_states(model_judgement, ON_THE_PAGE), timeout=VERDICT_TIMEOUT_S
    )
    assert LOADED_LATER.id not in browser.states(page)

    page.click("#load-more")
    browser.wait_for_states(
        page, expected_states(model_judgement, [LOADED_LATER]), timeout=VERDICT_TIMEOUT_S
    )
    browser.screenshot(page, "after-load-more")

    badges = badges_by_picture(browser.badges(page))
    everything = [*ON_THE_PAGE, LOADED_LATER]
    assert {on: b.kind for on, b in badges.items()} == expected_badges(model_judgement, everything)
    assert browser.page_errors == []


def test_the_context_menu_checks_one_picture_with_auto_scan_off(
    extension_browser, verity_server, gallery, model_judgement
):
    require_clear_cases(model_judgement)
    [target, *_] = sorted(model_judgement.ids_in("likely_ai") & {p.id for p in ON_THE_PAGE})
    expected = model_judgement.pictures[target]
    browser = extension_browser(serverUrl=verity_server, autoScan=False)
    page = browser.open(gallery.page_url(host=PUBLIC_TEST_HOST))
    page.wait_for_timeout(1000)
    assert browser.states(page) == {}, "nothing is scanned"
    assert not CheckItem.objects.exists(), "nothing is sent"

    browser.check_with_context_menu(page, f"#{target}")
    browser.wait_for_states(page, {target: expected.band}, timeout=VERDICT_TIMEOUT_S)
    assert browser.states(page) == {target: expected.band}, "only the picture asked about"
    assert set(CheckItem.objects.values_list("url", flat=True)) == {
        gallery.picture_url(target, host=PUBLIC_TEST_HOST)
    }
    card = page.locator("verity-overlay .card")
    card.wait_for(state="visible")
    text = card.inner_text()
    for fact in (BAND_TITLES[expected.band], percent_shown(expected.probability_ai)):
        assert fact in text, fact
    assert model_judgement.model_version in text
    browser.screenshot(page, "context-menu-answer")
    assert browser.page_errors == []

    history_url = card.get_by_role("link").get_attribute("href")
    assert history_url.startswith(f"{verity_server}/images/")
    history = browser.open(history_url)
    row = history.locator("tr", has_text=model_judgement.model_version)
    assert Band(expected.band).label in row.inner_text(), "the platform's own page agrees"
    browser.screenshot(history, "history-page")


def test_with_the_server_down_the_page_shows_nothing_and_stays_usable(
    extension_browser, unreachable_server_url, gallery
):
    browser = extension_browser(serverUrl=unreachable_server_url)
    page = browser.open(gallery.page_url(host=PUBLIC_TEST_HOST))
    browser.wait_for_states(page, {picture.id: "unavailable" for picture in ON_THE_PAGE})

    assert browser.badges(page) == []
    assert page.locator("verity-overlay").count() == 0, "not even an empty layer"
    first = ON_THE_PAGE[0].id
    page.click(f"#{first}")
    assert page.evaluate("location.hash") == f"#clicked-{first}", "a picture's link still works"
    page.click("#counter")
    assert page.inner_text("#counter") == "Clicked 1 times"
    browser.screenshot(page, "server-down-after-two-clicks")
    assert browser.page_errors == []


def test_when_the_server_dies_mid_visit_new_pictures_fail_quietly(
    extension_browser, verity_server_process, gallery, model_judgement
):
    browser = extension_browser(serverUrl=verity_server_process.url)
    page = browser.open(gallery.page_url(host=PUBLIC_TEST_HOST))
    browser.wait_for_states(
        page, expected_states(model_judgement, ON_THE_PAGE), timeout=VERDICT_TIMEOUT_S
    )
    badges_before = browser.badges(page)

    verity_server_process.kill()
    page.click("#load-more")
    browser.wait_for_states(page, {LOADED_LATER.id: "unavailable"})
    browser.screenshot(page, "server-stopped-then-load-more")

    assert browser.badges(page) == badges_before, "verdicts already shown stay; no new badge"
    page.click(f"#{LOADED_LATER.id}")
    assert page.evaluate("location.hash") == f"#clicked-{LOADED_LATER.id}"
    assert browser.page_errors == []
