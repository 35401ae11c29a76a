"""The model a scoring worker holds: one production version per process, reloaded when a new
version is promoted (no restart needed). Imported only by the scoring worker: it pulls in torch."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from PIL.Image import Image as PILImage

from detections.models import ScoringWorker
from detections.services.pipeline import Prediction
from training.models import ModelVersion
from training.selectors import production_model_version

logger = logging.getLogger(__name__)


class EnsembleScorer:
    """The ``ml`` ensemble of one model version, loaded from its local artefact."""

    def __init__(self, model_version: ModelVersion) -> None:
        from ml.ensemble import Ensemble  # deferred: only scoring workers import torch

        self.model_version = model_version
        started = time.monotonic()
        self._ensemble = Ensemble.load(Path(model_version.artefact_path))
        in_bf16 = [name for name, kind in self._ensemble.precisions.items() if kind == "bf16"]
        logger.info(
            "loaded %s in %.1f s (in bf16: %s)",
            model_version.label,
            time.monotonic() - started,
            ", ".join(in_bf16) or "none",
        )

    def predict(self, images: Sequence[PILImage]) -> Sequence[Prediction]:
        return self._ensemble.predict(list(images))  # type: ignore[return-value]  # same fields


_loaded: EnsembleScorer | None = None
_checked_at = 0.0


def current_scorer() -> EnsembleScorer:
    """The scorer for the production version, checking for a promotion every few seconds."""
    global _loaded, _checked_at
    now = time.monotonic()
    if _loaded is not None and now - _checked_at < settings.VERITY_MODEL_RELOAD_CHECK_SECONDS:
        return _loaded
    version = production_model_version()
    if _loaded is None or _artefact_of(_loaded.model_version) != _artefact_of(version):
        _loaded = EnsembleScorer(version)
    else:
        _loaded.model_version = version  # same weights under a re-registered row
    _checked_at = now
    _heartbeat(_loaded.model_version)
    return _loaded


def _artefact_of(version: ModelVersion) -> tuple[str, str]:
    return (version.artefact_path, version.artefact_sha256)


def _heartbeat(version: ModelVersion) -> None:
    now = timezone.now()
    ScoringWorker.objects.update_or_create(
        hostname=socket.gethostname(),
        defaults={"model_version": version, "last_seen_at": now},
        create_defaults={"model_version": version, "last_seen_at": now, "loaded_at": now},
    )
