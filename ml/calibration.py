"""From member logits to one calibrated probability and a band; everything fit on validation.

- Per-member temperature: each member's own score, calibrated, for display and disagreement.
- Stacker: logistic regression on (logit x in_scope, in_scope) per member and their products
  with the other members' scope (see `stack_features`), so a member that is out of scope
  (the face member without a face) contributes nothing rather than a guess.
- Platt scaling of the stacker's logit, fit on out-of-fold stacker outputs (5 folds), so the
  calibration is not fit on the very predictions it corrects.
- Bands: `likely_ai` from the lowest threshold at which the images at or above it are AI
  with precision >= `target_precision` on validation, overall and within every subset (so
  CIFAKE's easy thumbnails cannot buy a looser band for web images), within every subset with
  a standard error to spare; `likely_real` likewise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

Band = Literal["likely_real", "inconclusive", "likely_ai"]
MemberLogits = Mapping[str, np.ndarray]  # member -> logits, NaN where out of scope
MAX_DISAGREEMENT_RATE = 0.05  # the share of validation images `models_disagree` may take


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _weighted_nll(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    # log(1 + e^z) - y z, computed stably
    losses = np.logaddexp(0.0, logits) - labels * logits
    return float(np.sum(weights * losses) / np.sum(weights))


def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """T > 0 minimising the (weighted) log loss of sigmoid(logits / T)."""
    w = np.ones_like(logits, dtype=float) if weights is None else weights
    result = minimize_scalar(
        lambda log_t: _weighted_nll(logits / np.exp(log_t), labels, w),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def fit_platt(
    logits: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """(a, b) so that sigmoid(a * logit + b) is calibrated."""
    model = LogisticRegression(C=1e4)
    model.fit(logits.reshape(-1, 1), labels, sample_weight=weights)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def stack_features(member_logits: MemberLogits, members: Sequence[str]) -> np.ndarray:
    """Per member m: (logit_m x in_scope_m, in_scope_m); per pair (m, k): in_scope_m x
    in_scope_k, and logit_m x in_scope_m x in_scope_k.

    Out-of-scope members add nothing but their bias. Which members are in scope says what kind
    of image it is (a 32x32 thumbnail, a large photo, one with a face), and the pair terms let
    a member's weight and the base rate depend on that: a trace model may be trusted on
    thumbnails and less on large photos, and one linear model can say so.
    """
    logits = {m: np.asarray(member_logits[m], dtype=float) for m in members}
    scope = {m: (~np.isnan(logits[m])).astype(float) for m in members}
    score = {m: np.where(scope[m] > 0, logits[m], 0.0) for m in members}
    columns = [column for m in members for column in (score[m], scope[m])]
    for i, m in enumerate(members):
        for k in members[i + 1 :]:
            columns.append(scope[m] * scope[k])
        for k in members:
            if k != m:
                columns.append(score[m] * scope[k])
    return np.stack(columns, axis=1)


def lowest_threshold(
    scores: np.ndarray,
    positives: np.ndarray,
    weights: np.ndarray,
    target: float,
    support: int,
    groups: np.ndarray | None = None,
    pooling: float = 20.0,
    standard_errors: float = 1.0,
) -> float | None:
    """The lowest score t at which {score >= t} holds >= `support` samples and is >= `target`
    precise: weighted, overall; and within every group, by `standard_errors` below its estimate.

    A group's precision at t is believed, before its own samples, to be near the overall one,
    worth `pooling` samples: estimate (hits + pooling x overall) / (count + pooling), standard
    error sqrt(estimate (1 - estimate) / (count + pooling)). So a group with few samples above t
    neither vetoes on its own nor is ignored, and the lowest crossing of a noisy precision
    curve (an optimistic pick) needs a margin. None when no t qualifies.
    """
    order = np.argsort(-scores, kind="stable")
    s, y, w = scores[order], positives[order], weights[order]
    overall = np.cumsum(w * y) / np.cumsum(w)
    ok = (overall >= target) & (np.arange(1, len(s) + 1) >= support)
    if groups is not None:
        in_group = groups[order][None, :] == np.unique(groups)[:, None]
        count = np.cumsum(in_group, axis=1) + pooling
        estimate = (np.cumsum(in_group * y, axis=1) + pooling * overall) / count
        bound = estimate - standard_errors * np.sqrt(estimate * (1 - estimate) / count)
        ok &= (bound >= target).all(axis=0)
    return float(s[np.flatnonzero(ok)[-1]]) if ok.any() else None


def band_thresholds(
    probabilities: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    target_precision: float,
    support: int = 30,
    groups: np.ndarray | None = None,
) -> tuple[float, float]:
    """(likely_real up to, likely_ai from): each decisive band >= the target precise, overall
    and, with `groups`, within every group (see `lowest_threshold`)."""
    ai_from = lowest_threshold(probabilities, labels, weights, target_precision, support, groups)
    real_from = lowest_threshold(
        1 - probabilities, 1 - labels, weights, target_precision, support, groups
    )
    likely_ai_from = max(ai_from, 0.5) if ai_from is not None else 1.0 + 1e-9
    likely_real_to = min(1 - real_from, 0.5) if real_from is not None else -1e-9
    return likely_real_to, likely_ai_from


@dataclass
class Combiner:
    members: list[str]
    temperatures: dict[str, float]
    coefficients: list[float]  # stacker weights, in `stack_features` order
    intercept: float
    platt: tuple[float, float]
    likely_real_to: float
    likely_ai_from: float
    disagreement: float  # abstain when in-scope members' probabilities span at least this

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Combiner:
        return cls(**{**raw, "platt": tuple(raw["platt"])})

    def member_probabilities(self, member_logits: MemberLogits) -> dict[str, np.ndarray]:
        """Each member's own calibrated P(AI); NaN where out of scope."""
        return tempered({name: member_logits[name] for name in self.members}, self.temperatures)

    def stacked_logit(self, member_logits: MemberLogits) -> np.ndarray:
        features = stack_features(member_logits, self.members)
        return features @ np.asarray(self.coefficients) + self.intercept

    def probability(self, member_logits: MemberLogits) -> np.ndarray:
        a, b = self.platt
        return sigmoid(a * self.stacked_logit(member_logits) + b)

    def band(self, probability: float) -> Band:
        if probability >= self.likely_ai_from:
            return "likely_ai"
        if probability <= self.likely_real_to:
            return "likely_real"
        return "inconclusive"

    def spread(self, member_logits: MemberLogits) -> np.ndarray:
        return probability_spread(self.member_probabilities(member_logits))


def tempered(
    member_logits: MemberLogits, temperatures: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Each member's P(AI) after its temperature; NaN where out of scope."""
    return {
        name: sigmoid(np.asarray(logits, dtype=float) / temperatures[name])
        for name, logits in member_logits.items()
    }


def probability_spread(member_probabilities: Mapping[str, np.ndarray]) -> np.ndarray:
    """Max minus min of the in-scope members' calibrated probabilities (0 for one member)."""
    table = np.stack(list(member_probabilities.values()), axis=1)
    in_scope = ~np.isnan(table)
    high = np.where(in_scope, table, -np.inf).max(axis=1)
    low = np.where(in_scope, table, np.inf).min(axis=1)
    return np.where(in_scope.sum(axis=1) >= 2, high - low, 0.0)


def disagreement_threshold(
    spreads: np.ndarray, weights: np.ndarray, rate: float = MAX_DISAGREEMENT_RATE
) -> float:
    """The span reached by the most divided `rate` of images (weighted), but at least 0.5:
    members half a scale apart are not a quarrel worth abstaining over."""
    return max(0.5, weighted_quantile(spreads, weights, 1 - rate))


def member_temperatures(
    member_logits: MemberLogits, labels: np.ndarray, weights: np.ndarray
) -> dict[str, float]:
    """Each member's temperature, fit on the images in its scope."""
    temperatures = {}
    for name in sorted(member_logits):
        logits = np.asarray(member_logits[name], dtype=float)
        scope = ~np.isnan(logits)
        temperatures[name] = fit_temperature(logits[scope], labels[scope], weights[scope])
    return temperatures


def _fit_stacker(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray
) -> LogisticRegression:
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(features, labels, sample_weight=weights)
    return model


def out_of_fold_logits(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, folds: int, seed: int
) -> np.ndarray:
    result = np.zeros(len(labels))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(features, labels):
        model = _fit_stacker(features[fit_rows], labels[fit_rows], weights[fit_rows])
        result[held_rows] = model.decision_function(features[held_rows])
    return result


def _calibrated_out_of_fold(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, seed: int
) -> tuple[tuple[float, float], np.ndarray]:
    """Platt scaling fit on out-of-fold stacker logits, and those logits calibrated by it."""
    held_out = out_of_fold_logits(features, labels, weights, folds=5, seed=seed)
    platt = fit_platt(held_out, labels, weights)
    return platt, sigmoid(platt[0] * held_out + platt[1])


def fit_combiner(
    member_logits: MemberLogits,
    labels: np.ndarray,
    weights: np.ndarray,
    target_precision: float = 0.95,
    max_disagreement_rate: float = MAX_DISAGREEMENT_RATE,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> Combiner:
    """Fit temperatures, stacker, calibration, bands and the disagreement rule on validation
    (`groups`: each sample's subset, for bands precise within every subset)."""
    members = sorted(member_logits)
    temperatures = member_temperatures(member_logits, labels, weights)
    features = stack_features(member_logits, members)
    platt, calibrated = _calibrated_out_of_fold(features, labels, weights, seed)
    real_to, ai_from = band_thresholds(calibrated, labels, weights, target_precision, groups=groups)
    stacker = _fit_stacker(features, labels, weights)
    combiner = Combiner(
        members=members,
        temperatures=temperatures,
        coefficients=[float(c) for c in stacker.coef_[0]],
        intercept=float(stacker.intercept_[0]),
        platt=platt,
        likely_real_to=real_to,
        likely_ai_from=ai_from,
        disagreement=1.0,
    )
    spreads = combiner.spread(member_logits)
    combiner.disagreement = disagreement_threshold(spreads, weights, max_disagreement_rate)
    return combiner


def bands_out_of_fold(
    member_logits: MemberLogits,
    labels: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    target_precision: float = 0.95,
    repeats: int = 5,
    seed: int = 0,
    max_disagreement_rate: float = MAX_DISAGREEMENT_RATE,
) -> dict[str, dict[str, float | None]]:
    """What the bands promise out of sample: per group, each band's precision and the decisive
    share when the thresholds are fit on four fifths of the validation split and judged on the
    rest (5 folds stratified by group, fewer when a group has fewer than 5 images; `repeats`
    shuffles; calls pooled). Also what the disagreement rule, fit alike, takes from those
    decisive calls: their share of images and how often they were wrong (a rule worth having
    takes calls wrong more often than those it leaves). None: no such call. Empty when a group
    has a single image."""
    names, counts = np.unique(groups, return_counts=True)
    folds = min(5, int(counts.min()))
    if folds < 2:
        return {}
    features = stack_features(member_logits, sorted(member_logits))
    _, probabilities = _calibrated_out_of_fold(features, labels, weights, seed)
    temperatures = member_temperatures(member_logits, labels, weights)
    spreads = probability_spread(tempered(member_logits, temperatures))
    # per group: ai, ai right, real, real right, images, decisive taken by the rule, those wrong
    calls = {name: np.zeros(7) for name in names}
    for repeat in range(repeats):
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
        for fit_rows, held_rows in splitter.split(probabilities, groups):
            real_to, ai_from = band_thresholds(
                probabilities[fit_rows],
                labels[fit_rows],
                weights[fit_rows],
                target_precision,
                groups=groups[fit_rows],
            )
            disagreement = disagreement_threshold(
                spreads[fit_rows], weights[fit_rows], max_disagreement_rate
            )
            for name in names:
                rows = held_rows[groups[held_rows] == name]
                ai, real = probabilities[rows] >= ai_from, probabilities[rows] <= real_to
                wrong = (ai & (labels[rows] == 0)) | (real & (labels[rows] == 1))
                taken = (ai | real) & (spreads[rows] >= disagreement)
                calls[name] += [
                    ai.sum(),
                    labels[rows][ai].sum(),
                    real.sum(),
                    (1 - labels[rows][real]).sum(),
                    len(rows),
                    taken.sum(),
                    (taken & wrong).sum(),
                ]
    return {str(name): _out_of_fold_summary(c) for name, c in calls.items()}


def _out_of_fold_summary(c: np.ndarray) -> dict[str, float | None]:
    decisive_wrong = c[0] - c[1] + c[2] - c[3]
    kept = c[0] + c[2] - c[5]
    return {
        "likely_ai_precision": float(c[1] / c[0]) if c[0] else None,
        "likely_real_precision": float(c[3] / c[2]) if c[2] else None,
        "decisive": float((c[0] + c[2]) / c[4]),
        "taken_by_disagreement": float(c[5] / c[4]),
        "wrong_among_taken": float(c[6] / c[5]) if c[5] else None,
        "wrong_among_kept": float((decisive_wrong - c[6]) / kept) if kept else None,
    }


def weighted_quantile(values: np.ndarray, weights: np.ndarray, quantile: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / np.sum(weights)
    index = min(int(np.searchsorted(cumulative, quantile)), len(values) - 1)
    return float(values[order][index])
