"""The promotion gate: a pure decision over two tables of metrics, so it can be tested on
crafted numbers and explained line by line.

A candidate is promoted only if, on every holdout set, it is at least as good as production on
the primary metric (within ``tolerance``), better by more than ``min_improvement`` on at least
one set, and its calibration error is no worse (within ``calibration_tolerance``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

# {holdout name: {metric: value}} for the degradation the gate looks at (the image as given).
MetricTable = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class GatePolicy:
    primary_metric: str = "roc_auc"
    # "At least as good" allows this much less on the primary metric (measurement noise).
    tolerance: float = 0.002
    # "Better" means more than this much higher on the primary metric: a gain no larger than the
    # noise that "as good" forgives is noise too. (With 0.0, a CPU retrain whose CNN had lost 2
    # points of validation accuracy was promoted on +0.0001 and +0.0002 ROC-AUC.)
    min_improvement: float = 0.002
    calibration_metric: str = "ece"
    calibration_tolerance: float = 0.005


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)


def decide(
    candidate: MetricTable, production: MetricTable | None, policy: GatePolicy = GatePolicy()
) -> GateDecision:
    if production is None:
        return GateDecision(True, ["no production version yet: the first candidate is promoted"])
    reasons: list[str] = []
    missing = sorted(set(production) - set(candidate))
    for holdout in missing:
        reasons.append(f"{holdout}: the candidate was not evaluated on this holdout set")
    verdicts = [
        _compare(holdout, candidate[holdout], production[holdout], policy, reasons)
        for holdout in sorted(production)
        if holdout in candidate
    ]
    no_worse = not missing and all(ok for ok, _ in verdicts)
    better_somewhere = any(better for _, better in verdicts)
    if no_worse and not better_somewhere:
        reasons.append(
            f"not better than production on any holdout set "
            f"({policy.primary_metric} must rise by more than {policy.min_improvement:g})"
        )
    return GateDecision(no_worse and better_somewhere, reasons)


def _compare(
    holdout: str,
    candidate: Mapping[str, float],
    production: Mapping[str, float],
    policy: GatePolicy,
    reasons: list[str],
) -> tuple[bool, bool]:
    """(no worse, better) on one holdout set; appends a line a person can read."""
    primary = policy.primary_metric
    new, old = candidate.get(primary, math.nan), production.get(primary, math.nan)
    if math.isnan(new) or math.isnan(old):
        reasons.append(f"{holdout}: {primary} is missing, cannot compare")
        return False, False
    delta = round(new - old, 9)  # 0.988 - 0.990 must equal -0.002 exactly at the edge
    no_worse = delta >= -policy.tolerance
    better = delta > policy.min_improvement
    word = "better" if better else ("as good (within tolerance)" if no_worse else "worse")
    reasons.append(f"{holdout}: {primary} {new:.4f} vs {old:.4f} ({delta:+.4f}): {word}")
    calibrated = _calibration_no_worse(holdout, candidate, production, policy, reasons)
    return no_worse and calibrated, better


def _calibration_no_worse(
    holdout: str,
    candidate: Mapping[str, float],
    production: Mapping[str, float],
    policy: GatePolicy,
    reasons: list[str],
) -> bool:
    metric = policy.calibration_metric
    new, old = candidate.get(metric, math.nan), production.get(metric, math.nan)
    if math.isnan(new) or math.isnan(old):
        reasons.append(f"{holdout}: {metric} is missing, cannot compare calibration")
        return False
    if new > old + policy.calibration_tolerance:
        reasons.append(f"{holdout}: calibration worse, {metric} {new:.4f} vs {old:.4f}")
        return False
    return True
