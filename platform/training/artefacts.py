"""Reading an ensemble artefact's identity without loading it (the web tier never imports torch).

An artefact is a folder holding ``ensemble.json`` (with at least ``name`` and ``version``) beside
its weight files; ``ml`` writes and loads it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

MANIFEST_NAME = "ensemble.json"


class ArtefactMissing(FileNotFoundError):
    """No usable ensemble artefact where one was expected."""


@dataclass(frozen=True)
class ArtefactIdentity:
    name: str
    version: str
    path: Path
    sha256: str
    model_card: str


def default_artefact_path() -> Path:
    """``VERITY_MODEL_PATH`` if set, else the ensemble shipped in ``ml/weights``."""
    if settings.VERITY_MODEL_PATH:
        return Path(settings.VERITY_MODEL_PATH)
    shipped = sorted((settings.REPO_ROOT / "ml" / "weights").glob(f"*/{MANIFEST_NAME}"))
    if not shipped:
        raise ArtefactMissing(
            "No ensemble artefact found in ml/weights/ and VERITY_MODEL_PATH is not set."
        )
    return shipped[-1].parent


def read_identity(path: Path) -> ArtefactIdentity:
    manifest_file = path / MANIFEST_NAME
    if not manifest_file.is_file():
        raise ArtefactMissing(f"{manifest_file} does not exist: not an ensemble artefact.")
    manifest = json.loads(manifest_file.read_text())
    card = path / "MODEL_CARD.md"
    return ArtefactIdentity(
        name=str(manifest.get("name", path.name)),
        version=str(manifest.get("version", "0.0.0")),
        path=path,
        sha256=artefact_digest(path),
        model_card=card.read_text() if card.is_file() else "",
    )


def artefact_digest(path: Path) -> str:
    """SHA-256 over every file's relative name and bytes, so any change gives a new digest."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
