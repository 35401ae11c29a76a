"""Every admin page a reviewer or operator opens renders (with real rows in it)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from review.models import ReviewLabel
from tests.factories import CheckItemFactory, ModelVersionFactory, SightingFactory, VerdictFactory
from training.models import Evaluation, HoldoutSet, Stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def some_of_everything() -> None:
    verdict = VerdictFactory(band="inconclusive", probability_ai=0.6)
    SightingFactory(image=verdict.image)
    CheckItemFactory(image=verdict.image, verdict=verdict, status="done")
    ReviewLabel.objects.create(image=VerdictFactory().image, label="ai")
    holdout = HoldoutSet.objects.create(name="wild", subset="wild")
    for version in (verdict.model_version, ModelVersionFactory(stage=Stage.CANDIDATE)):
        Evaluation.objects.create(
            model_version=version,
            holdout=holdout,
            metrics={"original": {"ensemble": {"accuracy": 0.9, "roc_auc": 0.95, "ece": 0.03}}},
            curves={"roc": {"original": {"fpr": [0.0, 0.1, 1.0], "tpr": [0.0, 0.8, 1.0]}}},
        )


def test_every_changelist_and_change_page_renders(
    staff_client: Client, some_of_everything: None
) -> None:
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert staff_client.get(changelist).status_code == 200, changelist
        first = model_admin.get_queryset(None).first() if opts.model_name != "reviewqueue" else None
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert staff_client.get(change).status_code == 200, change


def test_the_review_queue_lists_unlabelled_doubtful_images(
    staff_client: Client, some_of_everything: None
) -> None:
    page = staff_client.get(reverse("admin:review_reviewqueue_changelist")).content.decode()

    assert "inconclusive" in page
    assert "1 image to review" in page or "1 review queue" in page


def test_two_versions_compare_side_by_side(staff_client: Client, some_of_everything: None) -> None:
    first, second = Evaluation.objects.order_by("pk")

    page = staff_client.get(
        reverse("admin:training_modelversion_compare"),
        {"a": first.model_version_id, "b": second.model_version_id},
    )

    assert page.status_code == 200
    assert "0.9500 / 0.9500" in page.content.decode()
    assert "data:image/png;base64," in page.content.decode(), "ROC curves overlaid"


def test_the_override_form_promotes_with_the_reason(staff_client: Client) -> None:
    candidate = ModelVersionFactory(stage=Stage.CANDIDATE)

    response = staff_client.post(
        reverse("admin:training_modelversion_override", args=[candidate.pk]),
        {"reason": "urgent fix for a new generator"},
    )

    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.stage == Stage.PRODUCTION
    assert candidate.decisions.get().override_reason == "urgent fix for a new generator"
