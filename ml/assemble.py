"""Assemble trained members into a shipped ensemble artefact:
`python -m ml.assemble --members cnn resnet50 ... --runs artifacts/runs --out ml/weights`.

Members are copied as float16 safetensors (+ config + card), reloaded from those very files,
scored on the validation split (carved from the train shards exactly as in training), and the
combiner (temperatures, stacker, calibration, bands, disagreement rule) is fit on those scores.
Subsets are weighted equally, so CIFAKE's size does not decide the thresholds for web images.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ml.calibration import Combiner, bands_out_of_fold, fit_combiner
from ml.cards import ensemble_card, member_card
from ml.checkpoint import load_checkpoint, load_config, save_checkpoint
from ml.data import (
    Sample,
    available_datasets,
    check_same_validation_split,
    decode_rgb,
    limit_per_class,
    training_and_validation,
)
from ml.ensemble import ENSEMBLE_FILE, score_with_reencode, verdicts
from ml.evaluate import Scored, band_summary
from ml.member import Member
from ml.metrics import binary_metrics


@dataclass
class AssembleConfig:
    members: Sequence[str]
    runs: Path = Path("artifacts/runs")  # holds <member>/<member>.safetensors ...
    out_dir: Path = Path("artifacts/ensemble")
    version: str = "verity-ensemble-0.1.0"
    data_dir: Path | None = None
    val_fraction: float = 0.1
    seed: int = 0  # carves the validation split (as the members did) and shuffles its folds
    target_precision: float = 0.95
    limit_per_class: int | None = None  # tiny assemblies (tests): validation images per class
    save_scores: Path | None = None  # also write the validation logits here (.npz), to study


def subset_weights(samples: Sequence[Sample]) -> np.ndarray:
    """Weights that give every subset the same total (and keep the mean weight at 1)."""
    subsets = np.array([sample.subset for sample in samples])
    names, counts = np.unique(subsets, return_counts=True)
    per_sample = {
        name: len(samples) / (len(names) * count) for name, count in zip(names, counts, strict=True)
    }
    return np.array([per_sample[subset] for subset in subsets])


def check_members_share_the_split(config: AssembleConfig) -> None:
    """Every member must have carved the validation split the combiner is fit on; one that
    carved another has trained on some of its images and would look better than it is."""
    for name in config.members:
        training = load_config(config.runs / name, name).training
        check_same_validation_split(
            training, config.val_fraction, config.seed, f"member {name} ({config.runs / name})"
        )


def copy_members_as_float16(config: AssembleConfig) -> None:
    for name in config.members:
        model, member_config = load_checkpoint(config.runs / name, name)
        save_checkpoint(
            config.out_dir, model, member_config, member_card(member_config), dtype=torch.float16
        )


def score_members(
    members: Sequence[Member], samples: Sequence[Sample], chunk: int = 256
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every member's logits for every sample as given and after JPEG q85 (NaN: out of scope)."""
    parts: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = []
    for start in tqdm(
        range(0, len(samples), chunk), desc="scoring validation", file=sys.stderr, mininterval=10
    ):
        images = [decode_rgb(sample.data) for sample in samples[start : start + chunk]]
        parts.append(score_with_reencode(members, images))

    def joined(which: int) -> dict[str, np.ndarray]:
        return {m.name: np.concatenate([part[which][m.name] for part in parts]) for m in members}

    return joined(0), joined(1)


def validation_report(
    combiner: Combiner,
    original: dict[str, np.ndarray],
    copy: dict[str, np.ndarray],
    samples: Sequence[Sample],
) -> dict[str, Any]:
    """Per subset: metrics at 0.5, and what the bands and abstention rules did."""
    predictions = verdicts(combiner, original, copy)
    labels = np.array([sample.label for sample in samples])
    subsets = np.array([sample.subset for sample in samples])
    report: dict[str, Any] = {}
    for subset in sorted(set(subsets)):
        rows = [int(i) for i in np.flatnonzero(subsets == subset)]
        scored = Scored(
            labels[rows], [samples[i].source for i in rows], [predictions[i] for i in rows], {}
        )
        report[subset] = {
            **binary_metrics(scored.labels, scored.probabilities),
            "bands": band_summary(scored),
        }
    return report


def save_validation_scores(
    path: Path,
    original: dict[str, np.ndarray],
    copy: dict[str, np.ndarray],
    samples: Sequence[Sample],
) -> None:
    """Member logits (as given and after JPEG q85) with labels and subsets, so combiner
    variants can be compared on the same validation scores without scoring again."""
    arrays: dict[str, Any] = {
        "labels": np.array([sample.label for sample in samples]),
        "subsets": np.array([sample.subset for sample in samples]),
        **{f"original/{m}": v for m, v in original.items()},
        **{f"reencoded/{m}": v for m, v in copy.items()},
    }
    np.savez_compressed(path, **arrays)


def assemble(config: AssembleConfig) -> Path:
    check_members_share_the_split(config)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    copy_members_as_float16(config)
    datasets = available_datasets(config.data_dir)
    _, val = training_and_validation(
        datasets, config.data_dir, (), config.val_fraction, config.seed
    )
    val = limit_per_class(val, config.limit_per_class)
    members = [Member.load(config.out_dir, name) for name in config.members]
    original, copy = score_members(members, val)
    labels = np.array([sample.label for sample in val])
    subsets = np.array([sample.subset for sample in val])
    if config.save_scores is not None:
        save_validation_scores(config.save_scores, original, copy, val)
    weights = subset_weights(val)
    combiner = fit_combiner(
        original, labels, weights, config.target_precision, seed=config.seed, groups=subsets
    )
    report = validation_report(combiner, original, copy, val)
    manifest = {
        "version": config.version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "combiner": combiner.to_dict(),
        "validation": report,
        "bands_out_of_fold": bands_out_of_fold(
            original, labels, weights, subsets, config.target_precision, seed=config.seed
        ),
        "validation_counts": {s: int(sum(x.subset == s for x in val)) for s in report},
    }
    (config.out_dir / ENSEMBLE_FILE).write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )
    (config.out_dir / "MODEL_CARD.md").write_text(ensemble_card(config.out_dir), encoding="utf-8")
    return config.out_dir


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", nargs="+", required=True)
    parser.add_argument("--runs", type=Path, default=Path("artifacts/runs"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/ensemble"))
    parser.add_argument("--version", default="verity-ensemble-0.1.0")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-scores", type=Path, help="write the validation logits (.npz)")
    args = parser.parse_args(argv)
    out = assemble(
        AssembleConfig(
            members=args.members,
            runs=args.runs,
            out_dir=args.out,
            version=args.version,
            data_dir=args.data_dir,
            seed=args.seed,
            save_scores=args.save_scores,
        )
    )
    print(f"ensemble written to {out}")


if __name__ == "__main__":
    main()
