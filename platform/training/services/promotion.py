"""Putting a candidate in front of users: only through the gate, or an admin's written override.

Every decision is recorded (``PromotionDecision``) with its reasons. Scoring workers notice the
new production version within ``VERITY_MODEL_RELOAD_CHECK_SECONDS``: no restart needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from training.gate import GatePolicy, decide
from training.models import ModelVersion, Outcome, PromotionDecision, Stage
from training.selectors import forget_cached_production_version
from training.services.datasets import latest_holdouts
from training.services.evaluations import Progress, evaluation_ensure, primary_table
from verity.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def promotion_decide(
    *,
    candidate: ModelVersion,
    policy: GatePolicy | None = None,
    limit_per_class: int = 0,
    degradations: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> PromotionDecision:
    """Measure the candidate (and production, where not yet measured the same way) on every
    holdout set, apply the gate, promote if it passes, and record the decision."""
    if candidate.stage != Stage.CANDIDATE:
        raise ApplicationError("not_a_candidate", f"{candidate} is {candidate.stage}.")
    production = ModelVersion.objects.filter(stage=Stage.PRODUCTION).first()
    holdouts = latest_holdouts()

    def table(version: ModelVersion) -> dict[str, dict[str, float]]:
        evaluations = [
            evaluation_ensure(
                model_version=version,
                holdout=holdout,
                limit_per_class=limit_per_class,
                degradations=degradations,
                progress=progress,
            )
            for holdout in holdouts
        ]
        return primary_table(evaluations)

    candidate_table = table(candidate)
    production_table = table(production) if production is not None else None
    gate = decide(candidate_table, production_table, policy or GatePolicy())
    with transaction.atomic():
        if gate.promote:
            _make_production(candidate)
        return PromotionDecision.objects.create(
            candidate=candidate,
            baseline=production,
            outcome=Outcome.PROMOTED if gate.promote else Outcome.REFUSED,
            reasons=gate.reasons,
        )


def promotion_override(*, candidate: ModelVersion, user: User, reason: str) -> PromotionDecision:
    """An admin promotes a candidate the gate refused; the written reason is kept for audit."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Overriding the gate needs a written reason.")
    if candidate.stage == Stage.PRODUCTION:
        raise ApplicationError("already_production", f"{candidate} is already in production.")
    production = ModelVersion.objects.filter(stage=Stage.PRODUCTION).first()
    with transaction.atomic():
        _make_production(candidate)
        return PromotionDecision.objects.create(
            candidate=candidate,
            baseline=production,
            outcome=Outcome.OVERRIDDEN,
            reasons=[f"override by {user.get_username()}: {reason.strip()}"],
            decided_by=user,
            override_reason=reason.strip(),
        )


def _make_production(candidate: ModelVersion) -> None:
    now = timezone.now()
    ModelVersion.objects.filter(stage=Stage.PRODUCTION).exclude(pk=candidate.pk).update(
        stage=Stage.ARCHIVED
    )
    ModelVersion.objects.filter(pk=candidate.pk).update(stage=Stage.PRODUCTION, promoted_at=now)
    candidate.refresh_from_db()
    transaction.on_commit(forget_cached_production_version)
