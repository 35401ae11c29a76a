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
    shipped = settings.REPO_ROOT / "ml" / "weights"
    if not (shipped / MANIFEST_NAME).is_file():
        raise ArtefactMissing(
            "No ensemble artefact in ml/weights/ and VERITY_MODEL_PATH is not set."
        )
    return shipped


def read_identity(path: Path) -> ArtefactIdentity:
    manifest_file = path / MANIFEST_NAME
    if not manifest_file.is_file():
        raise ArtefactMissing(f"{manifest_file} does not exist: not an ensemble artefact.")
    manifest = json.loads(manifest_file.read_text())
    name, version = split_label(str(manifest.get("version", "")), manifest.get("name"))
    card = path / "MODEL_CARD.md"
    return ArtefactIdentity(
        name=name,
        version=version,
        path=path,
        sha256=artefact_digest(path),
        model_card=card.read_text() if card.is_file() else "",
    )


def split_label(version: str, name: object = None) -> tuple[str, str]:
    """``("verity-ensemble", "1.2.0")`` from ``"verity-ensemble-1.2.0"`` (or a separate name)."""
    if isinstance(name, str) and name:
        return name, version or "0.0.0"
    stem, _, semver = version.rpartition("-")
    if stem and semver[:1].isdigit():
        return stem, semver
    return "verity-ensemble", version or "0.0.0"


def artefact_digest(path: Path) -> str:
    """SHA-256 over every file's relative name and bytes, so any change gives a new digest."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
