"""PNG plots for evaluation reports: ROC, precision-recall and reliability diagrams."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

Curves = dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (labels, P(AI))


def _two_classes(labels: np.ndarray) -> bool:
    return len(np.unique(labels)) == 2


def plot_roc(curves: Curves, path: Path, title: str) -> Path:
    figure, axes = plt.subplots(figsize=(5, 5))
    for name, (labels, probabilities) in curves.items():
        if _two_classes(labels):
            fpr, tpr, _ = roc_curve(labels, probabilities)
            axes.plot(fpr, tpr, label=name)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axes.set(
        xlabel="false positive rate (reals flagged)",
        ylabel="true positive rate",
        title=f"ROC: {title}",
    )
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_precision_recall(curves: Curves, path: Path, title: str) -> Path:
    figure, axes = plt.subplots(figsize=(5, 5))
    for name, (labels, probabilities) in curves.items():
        if _two_classes(labels):
            precision, recall, _ = precision_recall_curve(labels, probabilities)
            axes.plot(recall, precision, label=name)
    axes.set(
        xlabel="recall", ylabel="precision", ylim=(0, 1.02), title=f"Precision-recall: {title}"
    )
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_reliability(
    labels: np.ndarray, probabilities: np.ndarray, path: Path, title: str, bins: int = 10
) -> Path:
    edges = np.linspace(0, 1, bins + 1)
    which = np.minimum(np.digitize(probabilities, edges) - 1, bins - 1)
    centres, observed, counts = [], [], []
    for index in range(bins):
        mask = which == index
        if mask.any():
            centres.append(probabilities[mask].mean())
            observed.append(labels[mask].mean())
            counts.append(int(mask.sum()))
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    axes.plot(centres, observed, marker="o", label="ensemble")
    for x, y, n in zip(centres, observed, counts, strict=True):
        axes.annotate(
            str(n), (x, y), fontsize="x-small", textcoords="offset points", xytext=(3, -10)
        )
    axes.set(
        xlabel="predicted P(AI)",
        ylabel="observed fraction AI",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"Reliability: {title}",
    )
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_curves(curves: Curves, out_dir: Path, subset: str) -> list[Path]:
    """ROC and PR with one line per degradation, and the reliability diagram of the original."""
    paths = [
        plot_roc(curves, out_dir / f"{subset}_roc.png", subset),
        plot_precision_recall(curves, out_dir / f"{subset}_pr.png", subset),
    ]
    if "original" in curves:
        labels, probabilities = curves["original"]
        paths.append(
            plot_reliability(labels, probabilities, out_dir / f"{subset}_reliability.png", subset)
        )
    return paths
