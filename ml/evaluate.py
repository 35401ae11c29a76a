"""Evaluate an ensemble artefact per data set and per degradation:
`python -m ml.evaluate --artefact ml/weights --out artifacts/eval`.

Test splits by default (or the platform's holdout samples), each as given and after JPEG
q90/q75/q50, a 0.5x downscale, a 50% centre crop, and a 2x upscale (to check that upsampled
real photos are not flagged). Writes report.json, report.md and PNG plots (ROC, precision-recall,
reliability) into the output folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from ml.augment import jpeg_roundtrip, rescale, webp_roundtrip
from ml.calibration import sigmoid
from ml.cards import metrics_table
from ml.data import DATASETS, Sample, decode_rgb, labelled_sample, limit_per_class, load_split
from ml.ensemble import Ensemble, Prediction, default_ensemble_path
from ml.metrics import binary_metrics, ece_if_calibrated, roc_points
from ml.plots import plot_curves

Progress = Callable[[dict[str, Any]], None]


def centre_crop(image: Image.Image, fraction: float) -> Image.Image:
    width, height = image.size
    crop_w, crop_h = max(1, round(width * fraction)), max(1, round(height * fraction))
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    return image.crop((left, top, left + crop_w, top + crop_h))


def screenshot(image: Image.Image, scale: float) -> Image.Image:
    """What a screenshot of the image holds when a display scaled by `scale` shows it at its
    own CSS size: the browser's bilinear resampling to device pixels, saved as PNG (lossless, so
    these are the pixels a detector gets)."""
    width, height = image.size
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


DEGRADATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "original": lambda image: image,
    "jpeg_q90": partial(jpeg_roundtrip, quality=90),
    "jpeg_q75": partial(jpeg_roundtrip, quality=75),
    "jpeg_q50": partial(jpeg_roundtrip, quality=50),
    "webp_q75": partial(webp_roundtrip, quality=75),
    "resize_0.5x": partial(rescale, factor=0.5),
    "centre_crop_50": partial(centre_crop, fraction=0.5),
    # a display scaled to 125%, common on laptops
    "screenshot_1.25x": partial(screenshot, scale=1.25),
    "upscale_2x": partial(rescale, factor=2.0),
}
SUBSETS = ("cifake", "faces_140k", "faces_swap", "wild")


@dataclass
class EvaluateConfig:
    artefact: Path = field(default_factory=default_ensemble_path)
    out_dir: Path = Path("artifacts/eval")
    subsets: Sequence[str] = SUBSETS  # test splits to evaluate
    holdout: Sequence[tuple[bytes | Path, int]] | None = None  # instead of the test splits
    degradations: Sequence[str] = tuple(DEGRADATIONS)
    data_dir: Path | None = None
    limit_per_class: int | None = None
    chunk: int = 128
    plots: bool = True


@dataclass
class Scored:
    """Everything measured for one subset under one degradation."""

    labels: np.ndarray
    sources: list[str]
    predictions: list[Prediction]
    member_logits: dict[str, np.ndarray]

    @property
    def probabilities(self) -> np.ndarray:
        return np.array([p.probability_ai for p in self.predictions])


def evaluation_samples(config: EvaluateConfig) -> dict[str, list[Sample]]:
    if config.holdout is not None:
        return {"holdout": [labelled_sample(image, label) for image, label in config.holdout]}
    by_subset: dict[str, list[Sample]] = defaultdict(list)
    for dataset in DATASETS:
        wanted = [s for s in config.subsets if s == dataset or s.startswith(f"{dataset}_")]
        if wanted:
            for sample in load_split(dataset, "test", config.data_dir):
                if sample.subset in wanted:
                    by_subset[sample.subset].append(sample)
    return {
        name: limit_per_class(samples, config.limit_per_class)
        for name, samples in by_subset.items()
    }


def score(
    ensemble: Ensemble,
    samples: Sequence[Sample],
    degrade: Callable[[Image.Image], Image.Image],
    chunk: int,
    desc: str,
) -> Scored:
    predictions: list[Prediction] = []
    parts: list[dict[str, np.ndarray]] = []
    for start in tqdm(range(0, len(samples), chunk), desc=desc, file=sys.stderr, mininterval=10):
        images = [degrade(decode_rgb(s.data)) for s in samples[start : start + chunk]]
        chunk_predictions, logits = ensemble.predict_with_logits(images)
        predictions += chunk_predictions
        parts.append(logits)
    member_logits = {
        name: np.concatenate([part[name] for part in parts]) for name in ensemble.members
    }
    labels = np.array([s.label for s in samples])
    return Scored(labels, [s.source for s in samples], predictions, member_logits)


def band_summary(scored: Scored) -> dict[str, Any]:
    bands = np.array([p.band for p in scored.predictions])
    labels = scored.labels
    flagged, cleared = bands == "likely_ai", bands == "likely_real"
    reasons = Counter(p.abstain_reason for p in scored.predictions if p.abstain_reason)
    return {
        "decisive": float(np.mean(flagged | cleared)),
        "likely_ai": int(flagged.sum()),
        "likely_ai_precision": float(labels[flagged].mean()) if flagged.any() else float("nan"),
        "likely_real": int(cleared.sum()),
        "likely_real_precision": float(1 - labels[cleared].mean())
        if cleared.any()
        else float("nan"),
        "reals_flagged_likely_ai": float(np.mean(flagged[labels == 0]))
        if (labels == 0).any()
        else float("nan"),
        "abstained": dict(reasons),
    }


def member_summary(ensemble: Ensemble, scored: Scored) -> dict[str, Any]:
    report = {}
    for name, logits in scored.member_logits.items():
        in_scope = ~np.isnan(logits)
        entry: dict[str, Any] = {"coverage": float(in_scope.mean())}
        if in_scope.any():
            probability = sigmoid(logits[in_scope] / ensemble.combiner.temperatures[name])
            entry.update(binary_metrics(scored.labels[in_scope], probability))
        report[name] = entry
    return report


def per_source(scored: Scored) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, source in enumerate(scored.sources):
        groups[source].append(index)
    probabilities = scored.probabilities
    return {
        source: {
            "count": len(rows),
            "label": float(scored.labels[rows].mean()),
            "accuracy": float(np.mean((probabilities[rows] >= 0.5) == scored.labels[rows])),
            "mean_probability_ai": float(probabilities[rows].mean()),
        }
        for source, rows in sorted(groups.items())
    }


def summarise(ensemble: Ensemble, scored: Scored) -> dict[str, Any]:
    return {
        "ensemble": {
            **binary_metrics(scored.labels, scored.probabilities),
            "ece_if_calibrated": ece_if_calibrated(scored.probabilities),
        },
        "bands": band_summary(scored),
        "members": member_summary(ensemble, scored),
    }


def evaluate(config: EvaluateConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Metrics per subset and degradation (also written as JSON, Markdown and PNG plots)."""
    ensemble = Ensemble.load(config.artefact)
    samples = evaluation_samples(config)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "version": ensemble.version,
        "artefact": str(config.artefact),
        "subsets": {},
    }
    for subset, subset_samples in samples.items():
        results: dict[str, Scored] = {}
        for degradation in config.degradations:
            results[degradation] = score(
                ensemble,
                subset_samples,
                DEGRADATIONS[degradation],
                config.chunk,
                f"{subset} {degradation}",
            )
            if progress is not None:
                progress({"event": "evaluated", "subset": subset, "degradation": degradation})
        entry = {name: summarise(ensemble, scored) for name, scored in results.items()}
        if "original" in results:
            entry["original"]["per_source"] = per_source(results["original"])
        report["subsets"][subset] = {
            "count": len(subset_samples),
            "degradations": entry,
            # What the platform's comparison view overlays (two versions' ROC curves).
            "curves": {
                "roc": {name: roc_points(s.labels, s.probabilities) for name, s in results.items()}
            },
        }
        if config.plots:
            curves = {name: (s.labels, s.probabilities) for name, s in results.items()}
            report["subsets"][subset]["plots"] = [
                str(path) for path in plot_curves(curves, config.out_dir, subset)
            ]
    report = json_ready(report)
    (config.out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (config.out_dir / "report.md").write_text(markdown_report(report), encoding="utf-8")
    return report


def json_ready(value: Any) -> Any:
    """Plain JSON (databases refuse NaN): undefined metrics become None, numpy scalars Python."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


COLUMNS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "specificity",
    "f1",
    "roc_auc",
    "average_precision",
    "ece",
)


def markdown_report(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation of {report['version']}", ""]
    for subset, entry in report["subsets"].items():
        lines += [f"## {subset} ({entry['count']} images)", "", "### Ensemble", ""]
        rows = {
            name: {**d["ensemble"], **_band_columns(d["bands"])}
            for name, d in entry["degradations"].items()
        }
        lines += metrics_table(rows, (*COLUMNS, "decisive", "likely_ai_precision", "abstain"))
        original = entry["degradations"].get("original")
        if original:
            c = original["ensemble"]["confusion"]
            lines += [
                "",
                f"Confusion (original, threshold 0.5): TP {c['tp']}, FP {c['fp']}, "
                f"TN {c['tn']}, FN {c['fn']}",
                "",
                "### Members (original)",
                "",
            ]
            lines += metrics_table(original["members"], ("coverage", "accuracy", "roc_auc", "ece"))
        lines += [""] + [f"![{Path(p).stem}]({Path(p).name})" for p in entry.get("plots", [])]
        lines.append("")
    return "\n".join(lines)


def _band_columns(bands: dict[str, Any]) -> dict[str, Any]:
    return {
        "decisive": bands["decisive"],
        "likely_ai_precision": bands["likely_ai_precision"],
        "abstain": sum(bands["abstained"].values()),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artefact", type=Path, default=default_ensemble_path())
    parser.add_argument("--out", type=Path, default=Path("artifacts/eval"))
    parser.add_argument("--subsets", nargs="+", default=list(SUBSETS))
    parser.add_argument(
        "--degradations", nargs="+", default=list(DEGRADATIONS), choices=list(DEGRADATIONS)
    )
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--limit-per-class", type=int)
    args = parser.parse_args(argv)
    report = evaluate(
        EvaluateConfig(
            artefact=args.artefact,
            out_dir=args.out,
            subsets=args.subsets,
            degradations=args.degradations,
            data_dir=args.data_dir,
            limit_per_class=args.limit_per_class,
        )
    )
    print((args.out / "report.md").read_text(encoding="utf-8"))
    print(f"written to {args.out} ({len(report['subsets'])} subsets)")


if __name__ == "__main__":
    main()
