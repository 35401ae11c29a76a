"""Fixtures for the ml tests: small images and data set folders like the shared ones."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth random RGB image (low-frequency noise), deterministic per seed."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_dataset(root: Path, name: str, rows: list[tuple[str, str, bytes]]) -> Path:
    """A data set folder like the shared ones: MANIFEST.tsv + one tar shard per split/label.
    `rows` are (split, label, jpeg bytes)."""
    import hashlib

    folder = root / name
    folder.mkdir(parents=True)
    manifest = ["split\tlabel\tshard\tname\tsha256"]
    shards: dict[str, list[tuple[str, bytes]]] = {}
    for index, (split, label, data) in enumerate(rows):
        shard = f"{split}-{label}.tar"
        member = f"{split}/{label}/{index:04d}.jpg"
        shards.setdefault(shard, []).append((member, data))
        digest = hashlib.sha256(data).hexdigest()
        manifest.append(f"{split}\t{label}\t{shard}\t{member}\t{digest}")
    for shard, members in shards.items():
        with tarfile.open(folder / shard, "w") as archive:
            for member, data in members:
                info = tarfile.TarInfo(member)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    (folder / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return folder
