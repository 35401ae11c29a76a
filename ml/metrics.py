"""Binary detection metrics (positive class = AI-generated), from labels and probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def _safe_ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def confusion(labels: ArrayLike, predicted: ArrayLike) -> dict[str, int]:
    y, p = np.asarray(labels, dtype=bool), np.asarray(predicted, dtype=bool)
    return {
        "tp": int(np.sum(y & p)),
        "fp": int(np.sum(~y & p)),
        "tn": int(np.sum(~y & ~p)),
        "fn": int(np.sum(y & ~p)),
    }


def expected_calibration_error(
    labels: ArrayLike, probabilities: ArrayLike, bins: int = 15
) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins of P(AI), weighted by count."""
    y, p = np.asarray(labels, dtype=float), np.asarray(probabilities, dtype=float)
    if len(y) == 0:
        return float("nan")
    bin_of = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for index in range(bins):
        in_bin = bin_of == index
        if in_bin.any():
            error += in_bin.mean() * abs(y[in_bin].mean() - p[in_bin].mean())
    return float(error)


def ece_if_calibrated(
    probabilities: ArrayLike, bins: int = 15, draws: int = 200, seed: int = 0
) -> float:
    """The ECE a perfectly calibrated model would show with these very probabilities on this
    many images (labels drawn as Bernoulli(P(AI)), mean over `draws`).

    ECE is biased upwards on small sets: with a few hundred images a calibrated model reads
    about 0.05, so a measured ECE is to be read against this level, not against zero.
    """
    p = np.asarray(probabilities, dtype=float)
    if len(p) == 0:
        return float("nan")
    in_bin = np.eye(bins)[np.minimum((p * bins).astype(int), bins - 1)]  # (images, bins)
    labels = np.random.default_rng(seed).random((draws, len(p))) < p
    # per bin, |sum of labels - sum of probabilities| / images, summed over bins = ECE
    gaps = np.abs(labels.astype(float) @ in_bin - p @ in_bin)
    return float(gaps.sum(axis=1).mean() / len(p))


def _ranking_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    if len(np.unique(y)) < 2:  # one class only: ranking is undefined
        return {"roc_auc": float("nan"), "average_precision": float("nan")}
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "average_precision": float(average_precision_score(y, p)),
    }


def binary_metrics(
    labels: ArrayLike, probabilities: ArrayLike, threshold: float = 0.5
) -> dict[str, Any]:
    """Accuracy, precision, recall, specificity, F1, ROC-AUC, AP, ECE and the confusion matrix."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    counts = confusion(y, p >= threshold)
    tp, fp, tn, fn = counts["tp"], counts["fp"], counts["tn"], counts["fn"]
    precision = _safe_ratio(tp, tp + fp)
    recall = _safe_ratio(tp, tp + fn)
    specificity = _safe_ratio(tn, tn + fp)
    return {
        "count": len(y),
        "accuracy": _safe_ratio(tp + tn, len(y)),
        "balanced_accuracy": (recall + specificity) / 2,
        "precision": precision,
        "recall": recall,
        "specificity": specificity,
        "f1": _safe_ratio(2 * precision * recall, precision + recall),
        **_ranking_metrics(y, p),
        "ece": expected_calibration_error(y, p),
        "confusion": counts,
    }


def roc_points(
    labels: ArrayLike, probabilities: ArrayLike, points: int = 101
) -> dict[str, list[float]]:
    """The ROC curve thinned to at most `points` (enough to draw it, small enough to store), or
    empty lists when one class is missing and the curve does not exist."""
    y, p = np.asarray(labels), np.asarray(probabilities, dtype=float)
    if len(np.unique(y)) < 2:
        return {"fpr": [], "tpr": []}
    fpr, tpr, _ = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).round().astype(int))
    return {"fpr": fpr[keep].round(5).tolist(), "tpr": tpr[keep].round(5).tolist()}
