"""Datasets and holdout sets: immutable manifests of SHA-256s, and the guard that keeps every
holdout image out of every training snapshot."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Max, QuerySet

from review.selectors import decided_labels_by_image
from training.models import (
    Dataset,
    DatasetImage,
    DatasetSource,
    HoldoutImage,
    HoldoutSet,
    Label,
)
from verity.errors import ApplicationError

# Reviewed images whose SHA-256 falls in this fixed bucket form the "reviewed" holdout: a rule on
# the hash (not a random draw) keeps an image on the same side for ever.
REVIEWED_HOLDOUT = "reviewed"
REVIEWED_BUCKETS = 5

# The shard test splits registered as holdout sets: name = the ml subset it reads.
SHARD_HOLDOUTS = {
    "cifake": ("cifake", "CIFAKE official test split (CIFAR-10 vs Stable Diffusion 1.4, 32x32)"),
    "faces_140k": ("faces", "FFHQ vs StyleGAN faces, test split (256x256)"),
    "faces_swap": ("faces", "Real face crops vs face swaps (OpenForensics-like), test split"),
    "wild": ("wild", "Web images from many generators and photo sources, test split"),
}


class HoldoutLeak(ApplicationError):
    def __init__(self, hashes: Sequence[str]) -> None:
        shown = ", ".join(h[:12] for h in hashes[:5])
        super().__init__(
            "holdout_leak",
            f"{len(hashes)} image(s) of a holdout set cannot enter a training snapshot ({shown}…).",
            detail={"sha256": list(hashes[:100])},
        )


@dataclass(frozen=True)
class Entry:
    sha256: str
    label: int  # Label.AI or Label.REAL
    origin: str


def in_reviewed_holdout_bucket(sha256: str) -> bool:
    return int(sha256[:8], 16) % REVIEWED_BUCKETS == 0


def holdout_hashes_among(hashes: Sequence[str]) -> list[str]:
    return sorted(
        set(HoldoutImage.objects.filter(sha256__in=list(hashes)).values_list("sha256", flat=True))
    )


def dataset_snapshot_create(
    *, name: str, source: str, entries: Sequence[Entry], description: str = ""
) -> Dataset:
    """A new immutable version of data set ``name``; refuses any image of any holdout set."""
    leaked = holdout_hashes_among([entry.sha256 for entry in entries])
    if leaked:
        raise HoldoutLeak(leaked)
    with transaction.atomic():
        latest = Dataset.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
        dataset = Dataset.objects.create(
            name=name,
            version=latest + 1,
            source=source,
            description=description,
            counts=_counts(entries),
        )
        DatasetImage.objects.bulk_create(
            DatasetImage(dataset=dataset, sha256=e.sha256, label=e.label, origin=e.origin[:300])
            for e in entries
        )
    return dataset


def dataset_snapshot_from_reviews(*, unless_same_as: Dataset | None = None) -> Dataset | None:
    """Snapshot every decided reviewer label outside the reviewed holdout. None when there is
    none, or when the labels are exactly those of ``unless_same_as`` (nothing new to learn)."""
    entries = _reviewed_entries(in_holdout_bucket=False)
    if not entries or (unless_same_as and _same_labels(unless_same_as.images.all(), entries)):
        return None
    return dataset_snapshot_create(
        name="reviews",
        source=DatasetSource.REVIEWS,
        entries=entries,
        description="Reviewer labels (real/ai; unsure left out), reviewed holdout excluded.",
    )


def _reviewed_entries(*, in_holdout_bucket: bool) -> list[Entry]:
    return [
        Entry(sha, label, f"review:{sha}")
        for sha, label in sorted(decided_labels_by_image().items())
        if in_reviewed_holdout_bucket(sha) == in_holdout_bucket
    ]


def _same_labels(
    manifest: QuerySet[DatasetImage] | QuerySet[HoldoutImage], entries: Sequence[Entry]
) -> bool:
    return set(manifest.values_list("sha256", "label")) == {(e.sha256, e.label) for e in entries}


def holdout_create(
    *,
    name: str,
    entries: Sequence[Entry],
    description: str = "",
    dataset: str = "",
    subset: str = "",
) -> HoldoutSet:
    with transaction.atomic():
        latest = HoldoutSet.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
        holdout = HoldoutSet.objects.create(
            name=name,
            version=latest + 1,
            description=description,
            dataset=dataset,
            subset=subset,
            counts=_counts(entries),
        )
        HoldoutImage.objects.bulk_create(
            HoldoutImage(holdout=holdout, sha256=e.sha256, label=e.label, origin=e.origin[:300])
            for e in entries
        )
    return holdout


def holdouts_register_from_shards(*, data_dir: Path | None = None) -> list[HoldoutSet]:
    """Version 1 of each shard test split as a holdout set (kept if already registered)."""
    from ml.data import available_datasets, load_split  # reads the tar shards

    registered = []
    available = set(available_datasets(data_dir))
    for subset, (dataset, description) in SHARD_HOLDOUTS.items():
        existing = HoldoutSet.objects.filter(name=subset).order_by("-version").first()
        if existing is not None:
            registered.append(existing)
            continue
        if dataset not in available:
            continue
        samples = [s for s in load_split(dataset, "test", data_dir) if s.subset == subset]
        entries = [Entry(s.sha256, s.label, s.name) for s in samples]
        registered.append(
            holdout_create(
                name=subset,
                entries=entries,
                description=description,
                dataset=dataset,
                subset=subset,
            )
        )
    return registered


def holdout_register_reviewed() -> HoldoutSet | None:
    """A new version of the reviewed holdout when reviewers have labelled new bucket images."""
    entries = _reviewed_entries(in_holdout_bucket=True)
    current = HoldoutSet.objects.filter(name=REVIEWED_HOLDOUT).order_by("-version").first()
    if not entries or (current and _same_labels(current.images.all(), entries)):
        return current
    return holdout_create(
        name=REVIEWED_HOLDOUT,
        entries=entries,
        subset=REVIEWED_HOLDOUT,
        description="Reviewer-labelled images in the fixed 1-in-5 hash bucket.",
    )


def latest_holdouts() -> list[HoldoutSet]:
    """The newest version of every holdout set: what candidates are measured on."""
    newest: dict[str, HoldoutSet] = {}
    for holdout in HoldoutSet.objects.order_by("name", "-version"):
        newest.setdefault(holdout.name, holdout)
    return list(newest.values())


def _counts(entries: Sequence[Entry]) -> dict[str, int]:
    counted = Counter(Label(e.label).label for e in entries)
    return {"real": counted.get("real", 0), "ai": counted.get("AI-generated", 0)}
