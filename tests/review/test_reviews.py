"""Reviewers' labels: the API, the history beside the model's verdicts, the pages people see."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from apitokens.services import token_create
from review.models import ReviewLabel
from tests.factories import ImageFactory, SightingFactory, VerdictFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client() -> APIClient:
    user = get_user_model().objects.create(username="rita")
    _, key = token_create(name="rita", scopes=["review", "read"], owner=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_reviewer_labels_an_image_and_the_label_is_attributed(reviewer_client: APIClient) -> None:
    image = ImageFactory()

    response = reviewer_client.post(
        "/api/v1/reviews",
        {"image_sha256": image.sha256, "label": "ai", "note": "six fingers"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["reviewer"] == "rita"
    label = ReviewLabel.objects.get()
    assert (label.image, label.label, label.note) == (image, "ai", "six fingers")


def test_labels_are_listed_newest_first_and_filtered_by_image(reviewer_client: APIClient) -> None:
    first, second = ImageFactory(), ImageFactory()
    for image, label in ((first, "real"), (second, "ai"), (first, "unsure")):
        reviewer_client.post(
            "/api/v1/reviews", {"image_sha256": image.sha256, "label": label}, format="json"
        )

    everything = reviewer_client.get("/api/v1/reviews").json()
    only_first = reviewer_client.get("/api/v1/reviews", {"image_sha256": first.sha256}).json()

    assert everything["count"] == 3
    assert [r["label"] for r in only_first["results"]] == ["unsure", "real"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"image_sha256": "a" * 64, "label": "ai"}, 404, "not_found"),
        ({"image_sha256": "xyz", "label": "ai"}, 400, "invalid_input"),
        ({"image_sha256": "a" * 64, "label": "fake"}, 400, "invalid_input"),
    ],
)
def test_bad_labels_are_refused_clearly(
    reviewer_client: APIClient, payload: dict, status: int, code: str
) -> None:
    response = reviewer_client.post("/api/v1/reviews", payload, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_labelling_needs_the_review_scope(client_with: Callable[..., APIClient]) -> None:
    response = client_with("read", "submit").post(
        "/api/v1/reviews", {"image_sha256": ImageFactory().sha256, "label": "ai"}, format="json"
    )

    assert response.status_code == 403


def test_history_shows_the_human_label_beside_the_models(reviewer_client: APIClient) -> None:
    verdict = VerdictFactory(band="likely_real", probability_ai=0.1)
    SightingFactory(image=verdict.image, url="https://news.example/p.jpg")
    reviewer_client.post(
        "/api/v1/reviews", {"image_sha256": verdict.image_id, "label": "ai"}, format="json"
    )

    history = reviewer_client.get(f"/api/v1/images/{verdict.image_id}").json()
    by_url = reviewer_client.get("/api/v1/verdicts", {"url": "https://news.example/p.jpg"}).json()
    lookup = reviewer_client.post(
        "/api/v1/lookups", {"sha256": [verdict.image_id]}, format="json"
    ).json()

    assert history["verdicts"][0]["band"] == "likely_real"
    assert history["verdicts"][0]["human_label"] == "ai"
    assert history["review_labels"][0]["label"] == "ai"
    assert by_url["results"][0]["human_label"] == "ai"
    assert lookup["results"][0]["verdict"]["human_label"] == "ai"


def test_the_public_history_page_shows_verdicts_but_no_urls_or_bytes() -> None:
    verdict = VerdictFactory(band="likely_ai", probability_ai=0.97)
    SightingFactory(image=verdict.image, url="https://private.example/inbox/photo.jpg")

    page = Client().get(f"/images/{verdict.image_id}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Likely AI-generated" in html and "0.970" in html
    assert verdict.model_version.label in html
    assert "private.example" not in html
    assert "/content" not in html
    assert Client().get(f"/review/images/{verdict.image_id}/content").status_code == 302


def test_staff_see_the_image_and_where_it_was_seen() -> None:
    staff = get_user_model().objects.create(username="sam", is_staff=True)
    verdict = VerdictFactory()
    SightingFactory(image=verdict.image, url="https://news.example/seen.jpg")
    client = Client()
    client.force_login(staff)

    html = client.get(f"/images/{verdict.image_id}/").content.decode()

    assert "https://news.example/seen.jpg" in html
    assert f"/review/images/{verdict.image_id}/content" in html


def test_unknown_image_page_is_404() -> None:
    assert Client().get(f"/images/{'b' * 64}/").status_code == 404
