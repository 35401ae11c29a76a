"""A check travels the whole way: API -> io worker (safe fetch, decode) -> gpu worker (the real,
trained ensemble) -> verdict history; the same bytes later are answered from the database."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from detections.models import Image, Verdict
from tests.support import StaticServer, WorkerProcess, photo_like_jpeg
from training.selectors import production_model_version

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def workers(start_worker: Callable[..., WorkerProcess]) -> None:
    start_worker("io", pool="threads", concurrency=4)
    start_worker("gpu")


def test_urls_become_stored_verdicts_from_the_trained_ensemble(
    workers: None,
    shared_media: None,
    empty_queues: None,
    image_server: StaticServer,
    api: APIClient,
) -> None:
    photos = [photo_like_jpeg(seed) for seed in range(3)]
    urls = [image_server.add(f"/e2e/photo-{i}.jpg", data) for i, data in enumerate(photos)]
    not_an_image = image_server.add("/e2e/page.jpg", b"<html><body>hi</body></html>", "image/jpeg")

    created = api.post(
        "/api/v1/checks",
        {
            "items": [
                *({"url": url, "page_url": image_server.base_url + "/e2e/"} for url in urls),
                {"url": not_an_image},
                {"url": "http://10.1.2.3/private.jpg"},
                {"url": image_server.base_url + "/e2e/missing.jpg"},
            ]
        },
        format="json",
    )
    assert created.status_code == 202
    done = api.get(f"/api/v1/checks/{created.json()['id']}", {"wait": 60}).json()

    assert done["status"] == "done", done
    items = done["items"]
    version = production_model_version()
    for item in items[:3]:
        verdict = item["verdict"]
        assert item["status"] == "done", item
        assert verdict["model_version"] == version.label
        assert 0.0 <= verdict["probability_ai"] <= 1.0
        assert verdict["band"] in {"likely_real", "inconclusive", "likely_ai"}
        assert set(verdict["model_scores"]) >= {"cnn"}
    assert [(i["status"], i["error"]["code"]) for i in items[3:]] == [
        ("failed", "not_an_image"),
        ("failed", "address_blocked"),
        ("failed", "http_status"),
    ]
    assert Image.objects.count() == 3
    assert Verdict.objects.filter(model_version=version).count() == 3


def test_the_same_bytes_again_are_answered_from_the_database_without_a_worker(
    workers: None,
    shared_media: None,
    empty_queues: None,
    image_server: StaticServer,
    api: APIClient,
) -> None:
    data = photo_like_jpeg(seed=99)
    url = image_server.add("/e2e/once.jpg", data)
    first = api.post("/api/v1/checks", {"items": [{"url": url}]}, format="json").json()
    api.get(f"/api/v1/checks/{first['id']}", {"wait": 60})
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("io", "gpu")

    upload = io.BytesIO(data)
    upload.name = "same-bytes-other-name.jpg"
    again = api.post("/api/v1/checks", {"images": [upload]}, format="multipart")
    by_url = api.post("/api/v1/checks", {"items": [{"url": url}]}, format="json")

    for response in (again, by_url):
        assert response.status_code == 200
        item = response.json()["items"][0]
        assert item["status"] == "done" and item["cached"] is True
    assert again.json()["items"][0]["verdict"] == by_url.json()["items"][0]["verdict"]
    assert broker.llen("io") == 0 and broker.llen("gpu") == 0, "nothing was queued"
    assert image_server.hits["/e2e/once.jpg"] == 1, "the URL was fetched only once"
    assert Verdict.objects.count() == 1
