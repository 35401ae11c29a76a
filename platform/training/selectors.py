"""Which model version is in production."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from training.artefacts import default_artefact_path, read_identity
from training.models import ModelVersion, Stage

# The production version is read on every check: cached for VERITY_MODEL_RELOAD_CHECK_SECONDS,
# so a promotion is seen within that time.
_cached: tuple[float, ModelVersion] | None = None


def production_model_version() -> ModelVersion:
    """The version that judges new images; registers the shipped ensemble on first use."""
    global _cached
    now = time.monotonic()
    if _cached is not None and now - _cached[0] < settings.VERITY_MODEL_RELOAD_CHECK_SECONDS:
        return _cached[1]
    version = ModelVersion.objects.filter(stage=Stage.PRODUCTION).first()
    if version is None:
        version = _register_default_as_production()
    _cached = (now, version)
    return version


def forget_cached_production_version() -> None:
    global _cached
    _cached = None


def _register_default_as_production() -> ModelVersion:
    identity = read_identity(default_artefact_path())
    try:
        with transaction.atomic():
            version, _ = ModelVersion.objects.get_or_create(
                name=identity.name,
                version=identity.version,
                defaults={
                    "artefact_path": str(identity.path),
                    "artefact_sha256": identity.sha256,
                    "model_card": identity.model_card,
                },
            )
            updated = (
                ModelVersion.objects.filter(pk=version.pk)
                .exclude(stage=Stage.PRODUCTION)
                .update(stage=Stage.PRODUCTION, promoted_at=timezone.now())
            )
            if updated:
                version.refresh_from_db()
            return version
    except IntegrityError:
        # Another process registered it at the same moment: use theirs.
        return ModelVersion.objects.get(stage=Stage.PRODUCTION)
