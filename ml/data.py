"""Labelled images read from the shared tar shards; the validation split; the overlap guard.

Every data set under the data dir (`VERITY_DATA_DIR`, default `../shared/datasets` from the
repository root) is a folder with `MANIFEST.tsv` and tar shards; the manifest names each image's
split, label, shard and SHA-256, and `load_split` checks every byte it reads against it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import tarfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

DATASETS = ("cifake", "faces", "wild")
AI, REAL = 1, 0
_LABELS = {"fake": AI, "real": REAL}


class OverlapError(RuntimeError):
    """A training image is byte-identical to an image of a test split."""


class SplitMismatchError(ValueError):
    """A checkpoint was trained beside another validation split than the one a run uses."""


class DataError(RuntimeError):
    """The data dir is missing, incomplete, or does not match its manifest."""


@dataclass(frozen=True)
class Sample:
    """One labelled image, still encoded as it was stored (decode with `decode_rgb`)."""

    data: bytes
    label: int  # AI (1) or REAL (0)
    subset: str  # "cifake", "faces_140k", "faces_swap", "wild" or "extra"
    split: str  # "train", "val" or "test"
    name: str
    sha256: str
    source: str  # generator or photo source where the manifest names one, else the subset


def default_data_dir() -> Path:
    """`VERITY_DATA_DIR`, else `../shared/datasets` beside the repository."""
    configured = os.environ.get("VERITY_DATA_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "datasets"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_rgb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def _subset_of(dataset: str, row: dict[str, str]) -> str:
    if dataset == "faces":
        return "faces_140k" if row["subset"] == "140k" else "faces_swap"
    return dataset


def _manifest_rows(dataset_dir: Path) -> list[dict[str, str]]:
    manifest = dataset_dir / "MANIFEST.tsv"
    if not manifest.is_file():
        raise DataError(f"{manifest} is missing: is the data dir right (VERITY_DATA_DIR)?")
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _read_shard(
    shard: Path, wanted: dict[str, dict[str, str]]
) -> Iterator[tuple[dict[str, str], bytes]]:
    with tarfile.open(shard) as archive:
        for member in archive:
            row = wanted.get(member.name)
            extracted = archive.extractfile(member) if row is not None else None
            if row is not None and extracted is not None:
                yield row, extracted.read()


def load_split(dataset: str, split: str, data_dir: Path | None = None) -> list[Sample]:
    """All images of one split ("train" or "test") of one data set, checked against the manifest."""
    dataset_dir = (data_dir or default_data_dir()) / dataset
    rows = [row for row in _manifest_rows(dataset_dir) if row["split"] == split]
    if not rows:  # e.g. a staged folder (ml.stage_data) that kept only this data set's test rows
        raise DataError(f"{dataset_dir / 'MANIFEST.tsv'} lists no {split} images")
    by_shard: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for row in rows:
        by_shard[row["shard"]][row["name"]] = row
    samples = []
    for shard, wanted in sorted(by_shard.items()):
        if not (dataset_dir / shard).is_file():
            raise DataError(f"{dataset_dir / shard} is missing ({split} split of {dataset})")
        for row, data in _read_shard(dataset_dir / shard, wanted):
            digest = sha256_of(data)
            if digest != row["sha256"]:
                raise DataError(f"{shard}:{row['name']} does not match its manifest SHA-256")
            samples.append(
                Sample(
                    data=data,
                    label=_LABELS[row["label"].lower()],
                    subset=_subset_of(dataset, row),
                    split=split,
                    name=f"{dataset}/{row['name']}",
                    sha256=digest,
                    source=row.get("generator") or _subset_of(dataset, row),
                )
            )
    if len(samples) != len(rows):
        raise DataError(
            f"{dataset} {split}: manifest lists {len(rows)}, shards hold {len(samples)}"
        )
    return samples


def available_datasets(data_dir: Path | None = None) -> list[str]:
    root = data_dir or default_data_dir()
    return [name for name in DATASETS if (root / name / "MANIFEST.tsv").is_file()]


def hashes_of_test_splits(data_dir: Path | None = None) -> set[str]:
    """SHA-256 of every image in every test split under the data dir, read from the manifests.

    The manifest is the record: `load_split` refuses a shard whose bytes differ from it, and every
    evaluation reads the test splits through `load_split`. So a training machine needs only the
    train shards and the manifests.
    """
    root = data_dir or default_data_dir()
    return {
        row["sha256"]
        for dataset in available_datasets(root)
        for row in _manifest_rows(root / dataset)
        if row["split"] == "test"
    }


def dedupe(samples: Iterable[Sample]) -> list[Sample]:
    """Drop byte-identical repeats, keeping the first copy."""
    seen: set[str] = set()
    unique = []
    for sample in samples:
        if sample.sha256 not in seen:
            seen.add(sample.sha256)
            unique.append(sample)
    return unique


def assert_disjoint(training: Iterable[Sample], test_hashes: set[str]) -> None:
    """Raise OverlapError when any training image is byte-identical to a test image."""
    leaked = [sample.name for sample in training if sample.sha256 in test_hashes]
    if leaked:
        shown = ", ".join(leaked[:5])
        raise OverlapError(f"{len(leaked)} training images are in a test split: {shown} ...")


def carve_validation(
    samples: Sequence[Sample], fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """Split training samples into (train, val), stratified by subset and label, reproducibly."""
    groups: dict[tuple[str, int], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.subset, sample.label)].append(sample)
    train, val = [], []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda sample: sample.sha256)
        random.Random(f"{seed}-{key}").shuffle(group)
        n_val = round(len(group) * fraction) if len(group) > 1 else 0
        val += [replace(sample, split="val") for sample in group[:n_val]]
        train += group[n_val:]
    return train, val


def labelled_sample(image: bytes | Path, label: int, name: str = "") -> Sample:
    """An extra training sample (e.g. a reviewer's label) from image bytes or a file path."""
    data = image.read_bytes() if isinstance(image, Path) else image
    if label not in (AI, REAL):
        raise ValueError(f"label must be {AI} (AI) or {REAL} (real), got {label!r}")
    digest = sha256_of(data)
    return Sample(data, label, "extra", "train", name or f"extra/{digest[:16]}", digest, "extra")


def training_and_validation(
    datasets: Sequence[str],
    data_dir: Path | None = None,
    extra: Sequence[Sample] = (),
    val_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[Sample], list[Sample]]:
    """Train splits of `datasets` plus `extra`, deduplicated, guarded against every test split."""
    pooled = [sample for name in datasets for sample in load_split(name, "train", data_dir)]
    pooled = dedupe([*pooled, *extra])
    assert_disjoint(pooled, hashes_of_test_splits(data_dir))
    return carve_validation(pooled, val_fraction, seed)


def check_same_validation_split(
    training: Mapping[str, Any], val_fraction: float, split_seed: int, checkpoint: str
) -> None:
    """Raise SplitMismatchError unless a checkpoint's training record carved its validation
    split as (`val_fraction`, `split_seed`) do. A checkpoint that carved another split trained
    on images this run would validate on: a fine-tune from it, or a combiner fit beside it,
    would be judged on images it learnt."""
    # checkpoints written before `split_seed` existed carved their split with `seed`
    theirs = (training.get("val_fraction"), training.get("split_seed", training.get("seed")))
    if theirs != (val_fraction, split_seed):
        raise SplitMismatchError(
            f"{checkpoint} carved its validation split with fraction {theirs[0]} and seed "
            f"{theirs[1]}, this run with {val_fraction} and {split_seed}: it has trained on "
            "images this run validates on"
        )


def limit_per_class(samples: Sequence[Sample], per_class: int | None) -> list[Sample]:
    """The first `per_class` samples of each (subset, label), for tiny runs; all when None."""
    if per_class is None:
        return list(samples)
    kept: dict[tuple[str, int], int] = defaultdict(int)
    chosen = []
    for sample in samples:
        key = (sample.subset, sample.label)
        if kept[key] < per_class:
            kept[key] += 1
            chosen.append(sample)
    return chosen
