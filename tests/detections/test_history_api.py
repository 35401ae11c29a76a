"""Reading history: an image's verdicts, verdicts by URL, bulk look-ups, health."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import (
    ImageFactory,
    ModelVersionFactory,
    SightingFactory,
    VerdictFactory,
    verdict_seen_at,
)

pytestmark = pytest.mark.django_db


def test_image_history_lists_every_verdict_and_where_it_was_seen(
    client_with: Callable[..., APIClient],
) -> None:
    old, new = ModelVersionFactory(version="1.0.0"), ModelVersionFactory(version="1.1.0")
    image = ImageFactory()
    VerdictFactory(
        image=image,
        model_version=old,
        band="inconclusive",
        probability_ai=0.6,
        abstain_reason="models_disagree",
    )
    VerdictFactory(image=image, model_version=new, band="likely_ai", probability_ai=0.98)
    SightingFactory(image=image, url="https://a.example/x.jpg", source="crawler")
    SightingFactory(image=image, url="https://b.example/y.jpg", source="extension")

    response = client_with("read").get(f"/api/v1/images/{image.sha256}")

    assert response.status_code == 200
    body = response.json()
    assert body["image"]["sha256"] == image.sha256
    assert [v["model_version"] for v in body["verdicts"]] == [
        "verity-ensemble-1.1.0",
        "verity-ensemble-1.0.0",
    ]
    assert body["verdicts"][1]["abstain_reason"] == "models_disagree"
    assert body["verdicts"][0]["abstain_reason"] is None
    assert body["sightings_total"] == 2
    assert {(s["url"], s["source"]) for s in body["sightings"]} == {
        ("https://a.example/x.jpg", "crawler"),
        ("https://b.example/y.jpg", "extension"),
    }


def test_image_lookup_accepts_upper_case_hashes(client_with: Callable[..., APIClient]) -> None:
    image = ImageFactory()

    response = client_with("read").get(f"/api/v1/images/{image.sha256.upper()}")

    assert response.status_code == 200


def test_unknown_image_is_404(client_with: Callable[..., APIClient]) -> None:
    response = client_with("read").get(f"/api/v1/images/{'a' * 64}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_reading_history_needs_the_read_scope(client_with: Callable[..., APIClient]) -> None:
    response = client_with("submit").get(f"/api/v1/images/{ImageFactory().sha256}")

    assert response.status_code == 403


def test_verdicts_by_url_answer_what_was_said_when_and_by_which_model(
    client_with: Callable[..., APIClient],
) -> None:
    v1, v2 = ModelVersionFactory(version="1.0.0"), ModelVersionFactory(version="2.0.0")
    first = verdict_seen_at(
        "https://news.example/p.jpg", v1, band="inconclusive", probability_ai=0.5
    )
    VerdictFactory(image=first.image, model_version=v2, band="likely_ai")
    verdict_seen_at("https://news.example/other.jpg", v2)

    body = client_with("read").get("/api/v1/verdicts", {"url": "https://news.example/p.jpg"}).json()

    assert [(r["model_version"], r["band"]) for r in body["results"]] == [
        ("verity-ensemble-2.0.0", "likely_ai"),
        ("verity-ensemble-1.0.0", "inconclusive"),
    ]
    assert body["results"][0]["created_at"] >= body["results"][1]["created_at"]


def test_verdicts_filter_by_band_source_and_time(client_with: Callable[..., APIClient]) -> None:
    version = ModelVersionFactory()
    crawled = verdict_seen_at("https://a.example/1.jpg", version, band="likely_ai")
    crawled.image.sightings.update(source="crawler")
    verdict_seen_at("https://a.example/2.jpg", version, band="likely_real", probability_ai=0.1)
    client = client_with("read")

    by_band = client.get("/api/v1/verdicts", {"band": "likely_real"}).json()["results"]
    by_source = client.get("/api/v1/verdicts", {"source": "crawler"}).json()["results"]
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    since_future = client.get("/api/v1/verdicts", {"since": future}).json()["results"]

    assert [r["band"] for r in by_band] == ["likely_real"]
    assert [r["image_sha256"] for r in by_source] == [crawled.image_id]
    assert since_future == []


def test_verdict_filters_are_validated(client_with: Callable[..., APIClient]) -> None:
    response = client_with("read").get(
        "/api/v1/verdicts", {"band": "probably_fake", "since": "yesterday"}
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["detail"]["fields"]) == {"band", "since"}


def test_verdict_history_is_paginated_with_stable_cursors(
    client_with: Callable[..., APIClient],
) -> None:
    version = ModelVersionFactory()
    for _ in range(5):
        VerdictFactory(model_version=version)
    client = client_with("read")

    first = client.get("/api/v1/verdicts", {"page_size": 2}).json()
    VerdictFactory(model_version=version)  # a new verdict must not shift the pages already cut
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    seen = [r["image_sha256"] for page in (first, second, third) for r in page["results"]]
    assert len(seen) == 5 and len(set(seen)) == 5
    assert third["next"] is None


def test_lookups_answer_many_hashes_and_urls_at_once(client_with: Callable[..., APIClient]) -> None:
    old, new = ModelVersionFactory(version="1.0.0"), ModelVersionFactory(version="1.1.0")
    by_url = verdict_seen_at("https://news.example/seen.jpg", old, band="likely_real")
    VerdictFactory(image=by_url.image, model_version=new, band="inconclusive")
    by_hash = VerdictFactory(model_version=new)

    response = client_with("read").post(
        "/api/v1/lookups",
        {
            "sha256": [by_hash.image_id.upper(), "f" * 64],
            "urls": ["https://news.example/seen.jpg", "https://news.example/never.jpg"],
        },
        format="json",
    )

    results = response.json()["results"]
    assert [(r["kind"], r["found"]) for r in results] == [
        ("sha256", True),
        ("sha256", False),
        ("url", True),
        ("url", False),
    ]
    assert results[0]["verdict"]["image_sha256"] == by_hash.image_id
    assert results[2]["verdict"]["band"] == "inconclusive", "the latest verdict wins"
    assert results[3]["verdict"] is None and results[3]["image_sha256"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sha256": ["not-a-hash"]}, "sha256"),
        ({}, "non_field_errors"),
        ({"urls": ["https://x.example/a.jpg"] * 1001}, "non_field_errors"),
    ],
)
def test_lookups_validate_their_input(
    client_with: Callable[..., APIClient], payload: dict, field: str
) -> None:
    response = client_with("read").post("/api/v1/lookups", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]["fields"]


def test_healthz_reports_database_broker_and_model_without_a_token(production_version) -> None:
    response = APIClient().get("/api/v1/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": True,
        "broker": True,
        "production_model_version": production_version.label,
        "scoring_workers": [],
    }


def test_healthz_is_degraded_when_the_broker_is_unreachable(production_version, settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = APIClient().get("/api/v1/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "degraded" and response.json()["broker"] is False
