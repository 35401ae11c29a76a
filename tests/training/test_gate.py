"""The promotion gate, on crafted metric tables."""

from __future__ import annotations

import pytest

from training.gate import GatePolicy, decide

PRODUCTION = {
    "cifake": {"roc_auc": 0.990, "ece": 0.020},
    "wild": {"roc_auc": 0.900, "ece": 0.040},
}


def table(**overrides: dict[str, float]) -> dict[str, dict[str, float]]:
    return {name: {**metrics, **overrides.get(name, {})} for name, metrics in PRODUCTION.items()}


def test_better_on_one_set_and_no_worse_elsewhere_is_promoted() -> None:
    decision = decide(table(wild={"roc_auc": 0.930}), PRODUCTION)

    assert decision.promote
    assert "wild: roc_auc 0.9300 vs 0.9000 (+0.0300): better" in decision.reasons
    assert (
        "cifake: roc_auc 0.9900 vs 0.9900 (+0.0000): as good (within tolerance)" in decision.reasons
    )


def test_equal_everywhere_is_refused_because_nothing_improved() -> None:
    decision = decide(table(), PRODUCTION)

    assert not decision.promote
    assert any("not better than production on any holdout set" in r for r in decision.reasons)


def test_worse_on_any_set_is_refused_even_if_better_elsewhere() -> None:
    decision = decide(table(wild={"roc_auc": 0.95}, cifake={"roc_auc": 0.980}), PRODUCTION)

    assert not decision.promote
    assert "cifake: roc_auc 0.9800 vs 0.9900 (-0.0100): worse" in decision.reasons


@pytest.mark.parametrize(
    ("cifake_auc", "promoted"),
    [
        (0.9880, True),  # 0.002 below: exactly at the tolerance, still "as good"
        (0.98799, False),  # just past it
    ],
)
def test_tolerance_edge(cifake_auc: float, promoted: bool) -> None:
    candidate = table(wild={"roc_auc": 0.93}, cifake={"roc_auc": cifake_auc})

    assert decide(candidate, PRODUCTION, GatePolicy(tolerance=0.002)).promote is promoted


@pytest.mark.parametrize(
    ("wild_auc", "promoted"),
    [
        (0.9001, False),  # the size of gain a retrain with a worse member was promoted on
        (0.9020, False),  # exactly the noise "as good" forgives: not better
        (0.90201, True),  # just past it
    ],
)
def test_better_means_more_than_the_noise(wild_auc: float, promoted: bool) -> None:
    decision = decide(table(wild={"roc_auc": wild_auc}), PRODUCTION)

    assert decision.promote is promoted
    if not promoted:
        assert any("must rise by more than 0.002" in reason for reason in decision.reasons)


def test_worse_calibration_is_refused() -> None:
    candidate = table(wild={"roc_auc": 0.95, "ece": 0.060})

    decision = decide(candidate, PRODUCTION)

    assert not decision.promote
    assert "wild: calibration worse, ece 0.0600 vs 0.0400" in decision.reasons


def test_calibration_within_its_tolerance_passes() -> None:
    candidate = table(wild={"roc_auc": 0.95, "ece": 0.044})

    assert decide(candidate, PRODUCTION, GatePolicy(calibration_tolerance=0.005)).promote


def test_a_holdout_the_candidate_was_not_measured_on_refuses() -> None:
    candidate = {"cifake": {"roc_auc": 0.999, "ece": 0.01}}

    decision = decide(candidate, PRODUCTION)

    assert not decision.promote
    assert "wild: the candidate was not evaluated on this holdout set" in decision.reasons


def test_missing_metric_cannot_be_compared_and_refuses() -> None:
    candidate = table(wild={"roc_auc": float("nan")}, cifake={"roc_auc": 0.999})

    decision = decide(candidate, PRODUCTION)

    assert not decision.promote
    assert "wild: roc_auc is missing, cannot compare" in decision.reasons


def test_the_first_candidate_is_promoted_when_there_is_no_production() -> None:
    decision = decide(table(), None)

    assert decision.promote
    assert decision.reasons == ["no production version yet: the first candidate is promoted"]


def test_primary_metric_is_configurable() -> None:
    candidate = table(wild={"accuracy": 0.91}, cifake={"accuracy": 0.97})
    production = table(wild={"accuracy": 0.90}, cifake={"accuracy": 0.97})

    assert decide(candidate, production, GatePolicy(primary_metric="accuracy")).promote
