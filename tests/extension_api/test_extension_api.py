"""The extension's API: installs, page checks with long polls, uploads, CORS, throttling."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from apitokens.models import ApiToken
from apitokens.throttling import TokenRateThrottle
from detections.models import CheckItem, Sighting
from extension_api.models import Install
from tests.factories import VerdictFactory, verdict_seen_at

pytestmark = pytest.mark.django_db

EXTENSION_ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"


@pytest.fixture(autouse=True)
def _extension_origin(settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = [EXTENSION_ORIGIN]


@pytest.fixture
def installed(production_version) -> APIClient:
    """A client holding a freshly registered install's token."""
    client = APIClient()
    token = client.post(
        "/api/v1/extension/installs",
        {"extension_version": "0.1.0", "browser": "chromium"},
        format="json",
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_an_install_registers_and_gets_its_own_hashed_token() -> None:
    response = APIClient().post(
        "/api/v1/extension/installs",
        {"extension_version": "0.1.0", "browser": "chromium"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    install = Install.objects.get(pk=body["install_id"])
    assert body["token"].startswith("vrx_")
    assert install.token.key_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert install.token.kind == "extension" and install.token.scopes == ["read", "submit"]


def test_registration_is_rate_limited_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TokenRateThrottle.THROTTLE_RATES, "install", "2/hour")
    client = APIClient()

    codes = [
        client.post("/api/v1/extension/installs", {}, format="json").status_code for _ in range(3)
    ]

    assert codes == [201, 201, 429]


def test_known_verdicts_come_back_at_once_and_the_rest_is_queued(
    installed: APIClient, production_version
) -> None:
    verdict_seen_at("https://site.example/known.jpg", production_version)

    response = installed.post(
        "/api/v1/extension/page-checks",
        {
            "page_url": "https://site.example/article",
            "images": [
                {"url": "https://site.example/known.jpg"},
                {"url": "https://site.example/new.jpg"},
            ],
        },
        format="json",
    )

    assert response.status_code == 202
    body = response.json()
    assert body["poll_url"] == f"/api/v1/extension/page-checks/{body['id']}"
    assert body["retry_after_ms"] > 0
    known, new = body["results"]
    assert (known["status"], known["verdict"]["band"]) == ("done", "likely_ai")
    assert (new["url"], new["status"], new["verdict"]) == (
        "https://site.example/new.jpg",
        "pending",
        None,
    )
    assert (
        CheckItem.objects.get(url="https://site.example/new.jpg").page_url
        == "https://site.example/article"
    )


def test_page_url_left_out_is_stored_nowhere(installed: APIClient, production_version) -> None:
    verdict_seen_at("https://site.example/known.jpg", production_version)

    installed.post(
        "/api/v1/extension/page-checks",
        {
            "page_url": None,
            "images": [
                {"url": "https://site.example/known.jpg"},
                {"url": "https://site.example/n.jpg"},
            ],
        },
        format="json",
    )

    assert not CheckItem.objects.exclude(page_url="").exists()
    assert not Sighting.objects.filter(source="extension").exclude(page_url="").exists()


@pytest.mark.django_db(transaction=True)  # the verdict lands from another connection
def test_long_poll_returns_as_soon_as_a_verdict_lands(
    installed: APIClient, production_version
) -> None:
    import threading

    created = installed.post(
        "/api/v1/extension/page-checks",
        {
            "images": [
                {"url": "https://site.example/a.jpg"},
                {"url": "https://site.example/b.jpg"},
            ],
        },
        format="json",
    ).json()
    item = CheckItem.objects.get(url="https://site.example/a.jpg")
    verdict = VerdictFactory(model_version=production_version)

    def worker_finishes_the_item() -> None:  # what the scoring worker writes
        CheckItem.objects.filter(pk=item.pk).update(
            status="done", verdict=verdict, image=verdict.image
        )

    threading.Timer(0.4, worker_finishes_the_item).start()

    started = time.monotonic()
    polled = installed.get(created["poll_url"], {"wait": 10})

    assert 0.3 < time.monotonic() - started < 5, "answered when the verdict landed, not at 10 s"
    assert polled.status_code == 202
    assert [r["status"] for r in polled.json()["results"]] == ["done", "pending"]


def test_only_the_install_that_asked_can_poll(installed: APIClient, production_version) -> None:
    created = installed.post(
        "/api/v1/extension/page-checks",
        {"images": [{"url": "https://site.example/a.jpg"}]},
        format="json",
    ).json()
    stranger = APIClient()
    key = stranger.post("/api/v1/extension/installs", {}, format="json").json()["token"]
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert stranger.get(created["poll_url"]).status_code == 404


def test_too_many_images_in_one_request_is_a_clear_error(installed: APIClient, settings) -> None:
    settings.VERITY_EXTENSION_MAX_IMAGES = 2

    response = installed.post(
        "/api/v1/extension/page-checks",
        {"images": [{"url": f"https://site.example/{i}.jpg"} for i in range(3)]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert "At most 2 images" in str(response.json()["error"]["detail"])


def test_uploaded_private_bytes_pass_through_the_same_pipeline(installed: APIClient) -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (10, 200, 10)).save(buffer, "PNG")
    image = io.BytesIO(buffer.getvalue())
    image.name = "blob.png"

    response = installed.post(
        "/api/v1/extension/uploads",
        {"image": image, "src": "blob:https://mail.example/1234", "page_url": ""},
        format="multipart",
    )

    assert response.status_code == 202
    result = response.json()["results"][0]
    assert (result["url"], result["status"]) == ("blob:https://mail.example/1234", "pending")
    item = CheckItem.objects.get()
    assert item.upload and item.check_request.source == "extension"


def test_cors_preflight_is_answered_for_the_extension_origin_only() -> None:
    client = APIClient()
    headers = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type",
    }

    allowed = client.options(
        "/api/v1/extension/page-checks", HTTP_ORIGIN=EXTENSION_ORIGIN, **headers
    )
    refused = client.options(
        "/api/v1/extension/page-checks", HTTP_ORIGIN="https://evil.example", **headers
    )
    not_extension_api = client.options("/api/v1/checks", HTTP_ORIGIN=EXTENSION_ORIGIN, **headers)

    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == EXTENSION_ORIGIN
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Origin" not in not_extension_api


def test_throttled_install_is_told_when_to_retry(
    installed: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TokenRateThrottle.THROTTLE_RATES, "submit", "1/min")
    payload = {"images": [{"url": "https://site.example/a.jpg"}]}

    installed.post("/api/v1/extension/page-checks", payload, format="json")
    throttled = installed.post(
        "/api/v1/extension/page-checks", payload, format="json", HTTP_ORIGIN=EXTENSION_ORIGIN
    )

    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "Retry-After" in throttled["Access-Control-Expose-Headers"]
    assert throttled.json()["error"]["code"] == "throttled"


def test_a_revoked_install_is_refused(installed: APIClient) -> None:
    from apitokens.services import token_revoke

    token_revoke(token=ApiToken.objects.get(kind="extension"))

    response = installed.post(
        "/api/v1/extension/page-checks",
        {"images": [{"url": "https://site.example/a.jpg"}]},
        format="json",
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"
