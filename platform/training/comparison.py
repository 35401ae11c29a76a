"""Two model versions side by side: metrics per holdout set and degradation, ROC curves overlaid."""

from __future__ import annotations

import base64
import io
from typing import Any

from training.models import Evaluation, ModelVersion

METRICS = ("accuracy", "roc_auc", "average_precision", "f1", "ece")


def comparison_context(first: ModelVersion, second: ModelVersion) -> dict[str, Any]:
    pairs = _matching_evaluations(first, second)
    return {
        "first": first,
        "second": second,
        "metrics": METRICS,
        "tables": [_table(a, b) for a, b in pairs],
        "roc_png": _roc_overlay(first, second, pairs),
    }


def _matching_evaluations(
    first: ModelVersion, second: ModelVersion
) -> list[tuple[Evaluation, Evaluation]]:
    theirs = {(e.holdout_id, e.limit_per_class): e for e in second.evaluations.all()}
    return [
        (mine, theirs[(mine.holdout_id, mine.limit_per_class)])
        for mine in first.evaluations.select_related("holdout")
        if (mine.holdout_id, mine.limit_per_class) in theirs
    ]


def _table(a: Evaluation, b: Evaluation) -> dict[str, Any]:
    rows = []
    for degradation in a.metrics:
        if degradation not in b.metrics:
            continue
        mine = a.metrics[degradation].get("ensemble", {})
        theirs = b.metrics[degradation].get("ensemble", {})
        rows.append(
            {
                "degradation": degradation,
                "cells": [_cell(mine.get(m), theirs.get(m)) for m in METRICS],
            }
        )
    return {"holdout": str(a.holdout), "limit": a.limit_per_class, "rows": rows}


def _cell(a: float | None, b: float | None) -> dict[str, str]:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    delta = f"{b - a:+.4f}" if a is not None and b is not None else ""
    return {"a": fmt(a), "b": fmt(b), "delta": delta}


def _roc_overlay(
    first: ModelVersion, second: ModelVersion, pairs: list[tuple[Evaluation, Evaluation]]
) -> str | None:
    """One panel per holdout set with both versions' ROC curves (images as given)."""
    curves = [(a, b) for a, b in pairs if _roc(a) is not None and _roc(b) is not None]
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 4), squeeze=False)
    for axis, (a, b) in zip(axes[0], curves, strict=True):
        for evaluation, version in ((a, first), (b, second)):
            roc = _roc(evaluation)
            assert roc is not None
            axis.plot(roc["fpr"], roc["tpr"], label=version.label)
        axis.plot([0, 1], [0, 1], color="#bbb", linestyle=":")
        axis.set(title=str(a.holdout), xlabel="false positive rate", ylabel="true positive rate")
        axis.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _roc(evaluation: Evaluation) -> dict[str, list[float]] | None:
    roc = evaluation.curves.get("roc", {}).get("original")
    return roc if isinstance(roc, dict) and "fpr" in roc and "tpr" in roc else None
