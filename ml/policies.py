"""Measure what a member should see: `python -m ml.policies --member resnet50`.

Scores a trained member on the validation split (carved from the train shards) under other
preprocessing policies than the one it was trained with: native crops (1, 4 or 16 of them), a
downscale of the whole image, each view also scored mirrored, and, for trace models, upsampled
copies of real photos (an upsampled real must not look generated). Prints ROC-AUC and accuracy
per subset for each, and how far each class's logits move when the images are re-encoded as
JPEG q75 or WebP q75: a member keyed on detail that compression erases (or on a pristine look)
moves generated images towards real (the face member before 1.4.0: -1.41 on faces 140k's fakes
after JPEG).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ml.augment import rescale
from ml.calibration import sigmoid
from ml.checkpoint import load_checkpoint
from ml.data import Sample, available_datasets, decode_rgb, training_and_validation
from ml.evaluate import DEGRADATIONS
from ml.member import Member
from ml.metrics import binary_metrics
from ml.preprocess import Preprocessing


def variants(pre: Preprocessing) -> dict[str, Preprocessing]:
    mirrored = {"as saved, each view also mirrored": replace(pre, mirrored=True)}
    if pre.policy == "native_crops":
        counts = sorted({1, 4, pre.num_crops, 16})
        crops = {f"native crops x{n}": replace(pre, num_crops=n) for n in counts}
        return {
            **crops,
            f"downscale to {pre.input_size}": replace(pre, policy="resize"),
            **mirrored,
        }
    if pre.policy == "resize":
        return {
            f"downscale to {pre.input_size}": pre,
            f"native crops {pre.input_size} x1": replace(pre, policy="native_crops", num_crops=1),
            f"native crops {pre.input_size} x4": replace(pre, policy="native_crops", num_crops=4),
            **mirrored,
        }
    return {"face crops": pre, **mirrored}


def subset_metrics(
    member: Member, samples: Sequence[Sample], upscale: float = 1.0
) -> dict[str, dict[str, Any]]:
    images = [decode_rgb(s.data) for s in samples]
    if upscale != 1.0:
        images = [rescale(image, upscale) for image in images]
    logits = member.logits(images)
    labels = np.array([s.label for s in samples])
    subsets = np.array([s.subset for s in samples])
    report = {}
    for subset in sorted(set(subsets)):
        mask = (subsets == subset) & ~np.isnan(logits)
        if mask.any():
            m = binary_metrics(labels[mask], 1 / (1 + np.exp(-logits[mask])))
            report[subset] = {
                "roc_auc": m["roc_auc"],
                "accuracy": m["accuracy"],
                "reals_called_ai": 1 - m["specificity"],
                "n": int(mask.sum()),
            }
    return report


# the evaluation's own re-encodes, so this check and the test-split figures mean the same
REENCODINGS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "JPEG q75": DEGRADATIONS["jpeg_q75"],
    "WebP q75": DEGRADATIONS["webp_q75"],
}


def reencode_sensitivity(
    member: Member, samples: Sequence[Sample], reencode: Callable[[Image.Image], Image.Image]
) -> dict[str, dict[str, Any]]:
    """Per subset: each class's mean logit change after a re-encode, and ROC-AUC before and
    after (faces are found once, on the images as given, as in serving)."""
    images = [decode_rgb(s.data) for s in samples]
    faces = member.find_faces(images)
    before = member.logits(images, faces)
    after = member.logits([reencode(image) for image in images], faces)
    labels = np.array([s.label for s in samples])
    subsets = np.array([s.subset for s in samples])
    report = {}
    for subset in sorted(set(subsets.tolist())):
        mask = (subsets == subset) & ~np.isnan(before) & ~np.isnan(after)
        if not mask.any():
            continue
        shift = after[mask] - before[mask]
        y = labels[mask]
        report[subset] = {
            "logit_shift_real": float(shift[y == 0].mean()) if (y == 0).any() else None,
            "logit_shift_ai": float(shift[y == 1].mean()) if (y == 1).any() else None,
            "roc_auc": binary_metrics(y, sigmoid(before[mask]))["roc_auc"],
            "roc_auc_reencoded": binary_metrics(y, sigmoid(after[mask]))["roc_auc"],
            "n": int(mask.sum()),
        }
    return report


def compare(
    directory: Path, name: str, subsets: Sequence[str], data_dir: Path | None
) -> dict[str, Any]:
    model, config = load_checkpoint(directory, name)
    _, val = training_and_validation(available_datasets(data_dir), data_dir)
    val = [s for s in val if s.subset in subsets]
    report = {}
    for label, pre in variants(config.preprocessing).items():
        member = Member(model, replace(config, preprocessing=pre))
        report[label] = subset_metrics(member, val)
        print(label, json.dumps(report[label]), flush=True)
    if config.preprocessing.policy == "native_crops":
        member = Member(model, config)
        reals = [s for s in val if s.label == 0]
        for factor in (1.5, 2.0):
            report[f"reals upsampled {factor}x"] = subset_metrics(member, reals, upscale=factor)
            print(f"reals upsampled {factor}x", json.dumps(report[f"reals upsampled {factor}x"]))
    for name, reencode in REENCODINGS.items():
        label = f"re-encoded as {name}"
        report[label] = reencode_sensitivity(Member(model, config), val, reencode)
        print(label, json.dumps(report[label]), flush=True)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--member", required=True)
    parser.add_argument("--runs", type=Path, default=Path("artifacts/runs"))
    parser.add_argument("--subsets", nargs="+", default=["faces_140k", "faces_swap", "wild"])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--out", type=Path, help="write the comparison as JSON here")
    args = parser.parse_args(argv)
    report = compare(args.runs / args.member, args.member, args.subsets, args.data_dir)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
