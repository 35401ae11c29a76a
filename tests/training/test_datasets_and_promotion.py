"""Snapshots, holdouts and the leakage guard; promotion and its audited override."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model

from review.models import ReviewLabel
from tests.factories import ImageFactory, ModelVersionFactory
from training.models import (
    Dataset,
    DatasetImage,
    Evaluation,
    HoldoutSet,
    ModelVersion,
    Outcome,
    PromotionDecision,
    Stage,
)
from training.services.datasets import (
    Entry,
    HoldoutLeak,
    dataset_snapshot_create,
    dataset_snapshot_from_reviews,
    holdout_create,
    holdout_register_reviewed,
    in_reviewed_holdout_bucket,
)
from training.services.promotion import promotion_decide, promotion_override
from verity.errors import ApplicationError

pytestmark = pytest.mark.django_db


def sha(n: int) -> str:
    return hashlib.sha256(f"img-{n}".encode()).hexdigest()


def shas_in_bucket(inside: bool, count: int) -> list[str]:
    found = [h for h in (sha(n) for n in range(500)) if in_reviewed_holdout_bucket(h) == inside]
    return found[:count]


def test_a_holdout_image_can_never_enter_a_training_snapshot() -> None:
    holdout_create(name="cifake", entries=[Entry(sha(1), 1, "test/FAKE/1.jpg")])

    with pytest.raises(HoldoutLeak) as leak:
        dataset_snapshot_create(
            name="reviews",
            source="reviews",
            entries=[Entry(sha(2), 0, "ok"), Entry(sha(1), 1, "leaked")],
        )

    assert leak.value.code == "holdout_leak"
    assert leak.value.detail["sha256"] == [sha(1)]
    assert not Dataset.objects.exists(), "nothing half-written"


def test_snapshots_are_versioned_and_immutable() -> None:
    first = dataset_snapshot_create(
        name="reviews", source="reviews", entries=[Entry(sha(3), 1, "a")]
    )
    second = dataset_snapshot_create(
        name="reviews", source="reviews", entries=[Entry(sha(3), 1, "a"), Entry(sha(4), 0, "b")]
    )

    assert (first.version, second.version) == (1, 2)
    assert second.counts == {"real": 1, "ai": 1}
    first.description = "edited"
    with pytest.raises(ValueError, match="immutable"):
        first.save()
    with pytest.raises(ValueError, match="immutable"):
        DatasetImage.objects.first().save()


def test_reviewer_labels_flow_into_snapshots_outside_the_reviewed_holdout() -> None:
    reviewer = get_user_model().objects.create(username="rita")
    train_side, holdout_side = shas_in_bucket(False, 3), shas_in_bucket(True, 2)
    for digest, label in zip(
        train_side + holdout_side, ["ai", "real", "unsure", "ai", "real"], strict=True
    ):
        ReviewLabel.objects.create(
            image=ImageFactory(sha256=digest), label=label, reviewer=reviewer
        )

    holdout = holdout_register_reviewed()
    snapshot = dataset_snapshot_from_reviews()

    assert snapshot is not None
    assert dict(snapshot.images.values_list("sha256", "label")) == {
        train_side[0]: 1,
        train_side[1]: 0,
    }, "unsure labels are left out"
    assert holdout is not None
    assert set(holdout.images.values_list("sha256", flat=True)) == set(holdout_side)
    assert dataset_snapshot_from_reviews(unless_same_as=snapshot) is None, "nothing new"


def test_the_newest_label_of_an_image_is_the_one_that_counts() -> None:
    digest = shas_in_bucket(False, 1)[0]
    image = ImageFactory(sha256=digest)
    ReviewLabel.objects.create(image=image, label="real")
    ReviewLabel.objects.create(image=image, label="ai")

    snapshot = dataset_snapshot_from_reviews()

    assert snapshot is not None
    assert list(snapshot.images.values_list("label", flat=True)) == [1]


def evaluated(version: ModelVersion, holdout: HoldoutSet, auc: float, ece: float) -> None:
    Evaluation.objects.create(
        model_version=version,
        holdout=holdout,
        metrics={"original": {"ensemble": {"roc_auc": auc, "ece": ece}}},
    )


@pytest.fixture
def holdout() -> HoldoutSet:
    return holdout_create(name="wild", entries=[Entry(sha(9), 1, "x")], subset="wild")


def test_gate_promotes_a_better_candidate_and_archives_production(holdout: HoldoutSet) -> None:
    production = ModelVersionFactory(stage=Stage.PRODUCTION, version="1.0.0")
    candidate = ModelVersionFactory(stage=Stage.CANDIDATE, version="1.1.0")
    evaluated(production, holdout, auc=0.90, ece=0.03)
    evaluated(candidate, holdout, auc=0.93, ece=0.03)

    decision = promotion_decide(candidate=candidate)

    assert decision.outcome == Outcome.PROMOTED and decision.baseline == production
    production.refresh_from_db()
    candidate.refresh_from_db()
    assert (production.stage, candidate.stage) == (Stage.ARCHIVED, Stage.PRODUCTION)
    assert candidate.promoted_at is not None


def test_gate_refusal_keeps_production_and_lists_the_reasons(holdout: HoldoutSet) -> None:
    production = ModelVersionFactory(stage=Stage.PRODUCTION, version="1.0.0")
    candidate = ModelVersionFactory(stage=Stage.CANDIDATE, version="1.1.0")
    evaluated(production, holdout, auc=0.90, ece=0.03)
    evaluated(candidate, holdout, auc=0.85, ece=0.03)

    decision = promotion_decide(candidate=candidate)

    assert decision.outcome == Outcome.REFUSED
    assert decision.reasons == ["wild: roc_auc 0.8500 vs 0.9000 (-0.0500): worse"]
    candidate.refresh_from_db()
    assert candidate.stage == Stage.CANDIDATE
    assert ModelVersion.objects.get(stage=Stage.PRODUCTION) == production


def test_an_override_needs_a_written_reason_and_is_audit_logged(holdout: HoldoutSet) -> None:
    admin = get_user_model().objects.create(username="ada", is_staff=True)
    production = ModelVersionFactory(stage=Stage.PRODUCTION, version="1.0.0")
    candidate = ModelVersionFactory(stage=Stage.CANDIDATE, version="1.1.0")

    with pytest.raises(ApplicationError, match="written reason"):
        promotion_override(candidate=candidate, user=admin, reason="   ")
    decision = promotion_override(
        candidate=candidate, user=admin, reason="wild set mislabelled; verified by hand"
    )

    assert decision.outcome == Outcome.OVERRIDDEN
    assert (decision.decided_by, decision.baseline) == (admin, production)
    assert decision.override_reason == "wild set mislabelled; verified by hand"
    candidate.refresh_from_db()
    assert candidate.stage == Stage.PRODUCTION
    with pytest.raises(ValueError, match="immutable"):
        decision.save()
    assert PromotionDecision.objects.count() == 1


def test_only_candidates_go_through_the_gate() -> None:
    with pytest.raises(ApplicationError, match="is archived"):
        promotion_decide(candidate=ModelVersionFactory(stage=Stage.ARCHIVED))
