"""Measuring a model version on a holdout set with ``ml.evaluate``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from detections.models import Image
from training.models import Evaluation, HoldoutSet, ModelVersion
from training.services.datasets import SHARD_HOLDOUTS

Progress = Callable[[dict[str, Any]], None]


def evaluation_ensure(
    *,
    model_version: ModelVersion,
    holdout: HoldoutSet,
    limit_per_class: int = 0,
    degradations: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """The version's evaluation on the holdout (measured now unless it already exists)."""
    existing = Evaluation.objects.filter(
        model_version=model_version, holdout=holdout, limit_per_class=limit_per_class
    ).first()
    if existing is not None:
        return existing
    report = _run(model_version, holdout, limit_per_class, degradations, progress)
    measured = next(iter(report["subsets"].values()))
    return Evaluation.objects.create(
        model_version=model_version,
        holdout=holdout,
        limit_per_class=limit_per_class,
        metrics=measured["degradations"],
        curves=measured.get("curves", {}),
        plots={Path(p).stem: _media_relative(p) for p in measured.get("plots", [])},
    )


def primary_table(evaluations: Sequence[Evaluation]) -> dict[str, dict[str, float]]:
    """{holdout name: ensemble metrics on the images as given}: what the gate compares."""
    return {e.holdout.name: e.metrics["original"]["ensemble"] for e in evaluations}


def _run(
    model_version: ModelVersion,
    holdout: HoldoutSet,
    limit_per_class: int,
    degradations: Sequence[str] | None,
    progress: Progress | None,
) -> dict[str, Any]:
    from ml.evaluate import DEGRADATIONS, EvaluateConfig, evaluate  # loads torch

    out_dir = (
        Path(settings.MEDIA_ROOT)
        / "evaluations"
        / model_version.label
        / f"{holdout.name}-v{holdout.version}-{limit_per_class or 'all'}"
    )
    config = EvaluateConfig(
        artefact=Path(model_version.artefact_path),
        out_dir=out_dir,
        degradations=tuple(degradations or DEGRADATIONS),
        limit_per_class=limit_per_class or None,
    )
    if holdout.subset in SHARD_HOLDOUTS:
        config.subsets = (holdout.subset,)
    else:
        config.holdout = _reviewed_samples(holdout, limit_per_class)
    return evaluate(config, progress)


def _reviewed_samples(holdout: HoldoutSet, limit_per_class: int) -> list[tuple[bytes, int]]:
    labels = dict(holdout.images.values_list("sha256", "label"))
    samples: list[tuple[bytes, int]] = []
    per_label: dict[int, int] = {}
    for image in Image.objects.filter(pk__in=list(labels)).order_by("pk"):
        label = labels[image.pk]
        if limit_per_class and per_label.get(label, 0) >= limit_per_class:
            continue
        with image.file.open("rb") as stored:
            samples.append((stored.read(), label))
        per_label[label] = per_label.get(label, 0) + 1
    return samples


def _media_relative(path: str) -> str:
    return str(Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))
