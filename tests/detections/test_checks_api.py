"""POST /api/v1/checks and GET /api/v1/checks/{id}: what clients see."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from rest_framework.test import APIClient

from detections.models import Check, CheckItem, Sighting
from tests.factories import VerdictFactory, verdict_seen_at

pytestmark = pytest.mark.django_db


def jpeg_bytes(
    color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)
) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture
def broker() -> redis.Redis:
    """The real Redis broker, emptied, to see which tasks a request queued."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("io", "gpu")
    return client


def test_new_urls_are_queued_and_answered_202(
    api: APIClient, production_version, broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/checks",
            {
                "items": [
                    {"url": "https://news.example/a.jpg", "page_url": "https://news.example/story"},
                    {"url": "https://news.example/b.jpg"},
                ]
            },
            format="json",
        )

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["counts"] == {"total": 2, "done": 0, "failed": 0, "pending": 2}
    assert [item["status"] for item in body["items"]] == ["queued", "queued"]
    assert body["items"][0]["page_url"] == "https://news.example/story"
    assert broker.llen("io") == 2, "one io task per queued item"


def test_url_judged_by_production_version_is_answered_at_once(
    api: APIClient, production_version, broker, django_capture_on_commit_callbacks
) -> None:
    verdict = verdict_seen_at("https://news.example/known.jpg", production_version)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/checks", {"items": [{"url": "https://news.example/known.jpg"}]}, format="json"
        )

    assert response.status_code == 200
    item = response.json()["items"][0]
    assert item["status"] == "done" and item["cached"] is True
    assert item["verdict"]["band"] == "likely_ai"
    assert item["verdict"]["probability_ai"] == pytest.approx(0.97)
    assert item["verdict"]["model_version"] == production_version.label
    assert item["image_sha256"] == verdict.image_id
    assert response.json()["status"] == "done"
    assert broker.llen("io") == 0, "a cache hit queues nothing"


def test_stale_url_or_older_version_is_judged_again(api: APIClient, production_version) -> None:
    from tests.factories import ModelVersionFactory

    verdict_seen_at("https://news.example/old-model.jpg", ModelVersionFactory(stage="archived"))

    response = api.post(
        "/api/v1/checks", {"items": [{"url": "https://news.example/old-model.jpg"}]}, format="json"
    )

    assert response.status_code == 202
    assert response.json()["items"][0]["status"] == "queued"


def test_url_fetched_long_ago_is_fetched_again(
    api: APIClient, production_version, settings
) -> None:
    settings.VERITY_URL_FRESHNESS_SECONDS = 0
    verdict_seen_at("https://news.example/changing.jpg", production_version)

    response = api.post(
        "/api/v1/checks", {"items": [{"url": "https://news.example/changing.jpg"}]}, format="json"
    )

    assert response.json()["items"][0]["status"] == "queued"


def test_uploaded_bytes_already_judged_are_answered_from_history(
    api: APIClient, production_version
) -> None:
    import hashlib

    data = jpeg_bytes()
    VerdictFactory(
        image__sha256=hashlib.sha256(data).hexdigest(),
        model_version=production_version,
        band="likely_real",
        probability_ai=0.03,
    )

    response = api.post("/api/v1/checks", {"images": [upload(data)]}, format="multipart")

    assert response.status_code == 200
    item = response.json()["items"][0]
    assert (item["status"], item["cached"], item["upload_name"]) == ("done", True, "photo.jpg")
    assert item["verdict"]["band"] == "likely_real"
    assert Sighting.objects.filter(image_id=item["image_sha256"], source="api").exists()


def test_new_upload_is_staged_for_the_io_worker(api: APIClient, production_version) -> None:
    response = api.post(
        "/api/v1/checks",
        {
            "images": [upload(jpeg_bytes())],
            "items": '[{"url": "https://news.example/c.jpg"}]',
            "page_url": "https://news.example/gallery",
            "reference": "gallery-42",
        },
        format="multipart",
    )

    assert response.status_code == 202
    body = response.json()
    assert body["reference"] == "gallery-42"
    assert [(i["index"], i["url"], i["upload_name"]) for i in body["items"]] == [
        (0, "https://news.example/c.jpg", ""),
        (1, "", "photo.jpg"),
    ]
    staged = CheckItem.objects.get(check_request_id=body["id"], index=1)
    assert staged.upload and staged.upload.size == len(jpeg_bytes())
    assert staged.page_url == "https://news.example/gallery"


def test_oversized_upload_fails_alone_and_the_rest_goes_on(
    api: APIClient, production_version, settings
) -> None:
    settings.VERITY_MAX_IMAGE_BYTES = 1000

    response = api.post(
        "/api/v1/checks",
        {
            "images": [upload(b"\xff" * 5000, "huge.jpg")],
            "items": '[{"url": "https://news.example/d.jpg"}]',
        },
        format="multipart",
    )

    items = response.json()["items"]
    assert items[0]["status"] == "queued"
    assert items[1]["status"] == "failed"
    assert items[1]["error"]["code"] == "too_large"
    assert "limit" in items[1]["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"items": []}, "empty_check"),
        ({}, "empty_check"),
        ({"items": [{"page_url": "https://x.example/"}]}, "invalid_input"),
        ({"items": [{"url": "x" * 5000}]}, "invalid_input"),
        ({"items": "https://x.example/a.jpg"}, "invalid_input"),
    ],
)
def test_malformed_checks_are_refused_with_a_stable_code(
    api: APIClient, production_version, payload: dict, code: str
) -> None:
    response = api.post("/api/v1/checks", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Check.objects.count() == 0


def test_an_upload_under_the_wrong_field_name_is_told_the_right_one(
    api: APIClient, production_version
) -> None:
    upload = SimpleUploadedFile("photo.jpg", b"not read", content_type="image/jpeg")
    response = api.post("/api/v1/checks", {"files": upload}, format="multipart")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "empty_check"
    assert "`images`" in error["message"] and "`items`" in error["message"]


def test_a_batch_larger_than_the_limit_is_refused(
    api: APIClient, production_version, settings
) -> None:
    settings.VERITY_MAX_CHECK_ITEMS = 3
    items = [{"url": f"https://x.example/{i}.jpg"} for i in range(4)]

    response = api.post("/api/v1/checks", {"items": items}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "batch_too_large",
        "message": "A check holds at most 3 images; this one has 4. Split it.",
        "detail": {"max_items": 3},
    }


def test_malformed_json_body_is_a_clear_error(api: APIClient, production_version) -> None:
    response = api.post("/api/v1/checks", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_check_detail_shows_each_items_verdict_or_error(api: APIClient, production_version) -> None:
    verdict_seen_at("https://news.example/known.jpg", production_version)
    created = api.post(
        "/api/v1/checks",
        {
            "items": [
                {"url": "https://news.example/known.jpg"},
                {"url": "https://news.example/new.jpg"},
            ]
        },
        format="json",
    ).json()

    response = api.get(f"/api/v1/checks/{created['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "running"
    assert body["counts"] == {"total": 2, "done": 1, "failed": 0, "pending": 1}
    assert body["items"][0]["verdict"]["history_url"].endswith(
        f"/images/{body['items'][0]['image_sha256']}/"
    )
    assert body["items"][1]["verdict"] is None and body["items"][1]["error"] is None


def test_wait_is_bounded_and_returns_the_current_state(api: APIClient, production_version) -> None:
    import time

    created = api.post(
        "/api/v1/checks", {"items": [{"url": "https://news.example/slow.jpg"}]}, format="json"
    ).json()

    started = time.monotonic()
    response = api.get(f"/api/v1/checks/{created['id']}?wait=0.5")

    assert 0.5 <= time.monotonic() - started < 3
    assert response.json()["status"] == "queued"


def test_wait_must_be_a_positive_number(api: APIClient, production_version) -> None:
    created = api.post(
        "/api/v1/checks", {"items": [{"url": "https://news.example/a.jpg"}]}, format="json"
    ).json()

    response = api.get(f"/api/v1/checks/{created['id']}?wait=-1")

    assert response.status_code == 400
    assert "wait" in response.json()["error"]["detail"]["fields"]


def test_unknown_check_is_404(api: APIClient, production_version) -> None:
    response = api.get("/api/v1/checks/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_submit_only_token_reads_its_own_checks_but_no_one_elses(
    client_with: Callable[..., APIClient], production_version
) -> None:
    mine, theirs = client_with("submit"), client_with("submit")
    check_id = mine.post(
        "/api/v1/checks", {"items": [{"url": "https://x.example/a.jpg"}]}, format="json"
    ).json()["id"]

    assert mine.get(f"/api/v1/checks/{check_id}").status_code == 200
    assert theirs.get(f"/api/v1/checks/{check_id}").status_code == 404


def test_read_only_token_may_not_submit(
    client_with: Callable[..., APIClient], production_version
) -> None:
    response = client_with("read").post(
        "/api/v1/checks", {"items": [{"url": "https://x/a.jpg"}]}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_crawler_token_submits_as_crawler(
    client_with: Callable[..., APIClient], production_version
) -> None:
    response = client_with("submit", kind="crawler").post(
        "/api/v1/checks", {"items": [{"url": "https://x.example/a.jpg"}]}, format="json"
    )

    assert response.json()["source"] == "crawler"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://news.example/a.jpg", "scheme_not_allowed"),
        ("javascript:alert(1)", "scheme_not_allowed"),
        ("not a url", "url_invalid"),
        ("http://user:pw@news.example/a.jpg", "url_invalid"),
    ],
)
def test_urls_that_can_never_be_fetched_fail_at_once_and_the_rest_goes_on(
    api: APIClient,
    production_version,
    broker,
    django_capture_on_commit_callbacks,
    url: str,
    code: str,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/checks",
            {"items": [{"url": url}, {"url": "https://news.example/fine.jpg"}]},
            format="json",
        )

    failed, queued = response.json()["items"]
    assert (failed["status"], failed["error"]["code"]) == ("failed", code)
    assert failed["error"]["message"]
    assert queued["status"] == "queued"
    assert broker.llen("io") == 1, "only the fetchable URL is queued"


def test_one_url_spelled_two_ways_shares_its_history(api: APIClient, production_version) -> None:
    verdict_seen_at("http://news.example/known.jpg", production_version)

    response = api.post(
        "/api/v1/checks",
        {"items": [{"url": "HTTP://NEWS.example:80/known.jpg#top"}]},
        format="json",
    )

    item = response.json()["items"][0]
    assert (item["status"], item["cached"]) == ("done", True)
    assert item["url"] == "HTTP://NEWS.example:80/known.jpg#top", "the client's spelling is kept"
