"""Stage the data a training run needs into a folder small enough to travel to a lent GPU.

The device tool carries at most 64 MiB a call (working tree and carried folders together),
while the shared data sets' train shards alone are about 170 MB, so a GPU run takes only the
data sets its member trains on:

    python -m ml.stage_data cifake --out .device-data     # then carry .device-data, and run
    VERITY_DATA_DIR=.device-data python -m ml.train --member cnn ...

Staged data sets get their train shards and a manifest cut to the columns the loaders read (the
provenance columns are most of CIFAKE's 10.9 MB) and, like every other data set, the SHA-256 of
each test image: the overlap guard still checks training images against every test split, while
reading a test split, or the train split of a data set not staged, fails loudly.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ml.data import DATASETS, default_data_dir

DEVICE_CARRY_LIMIT = 64 * 2**20
STAGED_MARKER = ".staged-by-verity"  # only a folder holding it is ever emptied
# What ml.data reads of a manifest row; the rest is provenance for people.
LOADER_COLUMNS = ("subset", "split", "label", "generator", "shard", "name", "sha256")


def _read_manifest(dataset_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (dataset_dir / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return list(reader.fieldnames or ()), list(reader)


def _write_manifest(path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, columns, delimiter="\t", extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the folders share a file system (no second copy on disk), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def stage_dataset(source: Path, target: Path, *, with_train: bool) -> None:
    """One data set's folder: the cut manifest, and with_train its train rows and shards."""
    columns, rows = _read_manifest(source)
    kept_columns = [column for column in LOADER_COLUMNS if column in columns]
    # A test row keeps its hash (for the guard) and shard (for the error when it is read).
    test_rows = [row for row in rows if row["split"] == "test"]
    kept_rows = [{key: row[key] for key in ("split", "shard", "sha256")} for row in test_rows]
    if with_train:
        kept_rows += [row for row in rows if row["split"] == "train"]
    target.mkdir(parents=True, exist_ok=True)
    _write_manifest(target / "MANIFEST.tsv", kept_columns, kept_rows)
    if with_train:
        for shard in sorted({row["shard"] for row in kept_rows if row["split"] == "train"}):
            _link_or_copy(source / shard, target / shard)


def _clear(out: Path) -> None:
    """Empties a folder this command staged before; refuses any other non-empty folder."""
    if out.exists() and any(out.iterdir()):
        if not (out / STAGED_MARKER).is_file():
            raise FileExistsError(f"{out} is not empty and was not staged by ml.stage_data")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / STAGED_MARKER).write_text("staged by python -m ml.stage_data\n", encoding="utf-8")


def stage(datasets: Sequence[str], source_root: Path, out: Path) -> int:
    """Stages `datasets` (train) and every other data set under source_root (test rows only);
    returns the staged folder's size in bytes."""
    _clear(out)
    for name in DATASETS:
        if (source_root / name / "MANIFEST.tsv").is_file():
            stage_dataset(source_root / name, out / name, with_train=name in datasets)
    return sum(path.stat().st_size for path in out.rglob("*") if path.is_file())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", choices=DATASETS, help="data sets to train on")
    parser.add_argument("--out", type=Path, default=Path(".device-data"))
    parser.add_argument("--data-dir", type=Path, default=None, help="default: VERITY_DATA_DIR")
    args = parser.parse_args(argv)
    size = stage(args.datasets, args.data_dir or default_data_dir(), args.out)
    share = size / DEVICE_CARRY_LIMIT
    print(f"staged {', '.join(args.datasets)} in {args.out}: {size / 2**20:.1f} MiB")
    print(f"{share:.0%} of the device tool's 64 MiB a call, before the working tree")


if __name__ == "__main__":
    main()
