"""What /healthz reports: can we reach the database and the broker, and which model judges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from kombu import Connection

from detections.models import ScoringWorker
from training.artefacts import ArtefactMissing
from training.selectors import production_model_version

# A scoring worker that has not been heard of for this long is left out of the report.
_WORKER_SILENCE = timedelta(minutes=10)


def health_report() -> dict[str, Any]:
    database = _database_ok()
    broker = _broker_ok()
    version = _production_label() if database else None
    return {
        "status": "ok" if database and broker and version else "degraded",
        "database": database,
        "broker": broker,
        "production_model_version": version,
        "scoring_workers": _scoring_workers() if database else [],
    }


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _broker_ok() -> bool:
    broker = Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )
    try:
        with broker as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # any transport error means "not reachable" here
        return False
    return True


def _production_label() -> str | None:
    try:
        return production_model_version().label
    except ArtefactMissing:
        return None


def _scoring_workers() -> list[dict[str, Any]]:
    recent = ScoringWorker.objects.filter(
        last_seen_at__gte=timezone.now() - _WORKER_SILENCE
    ).select_related("model_version")
    return [
        {
            "hostname": worker.hostname,
            "model_version": worker.model_version.label if worker.model_version else None,
            "last_seen_at": worker.last_seen_at.isoformat(),
        }
        for worker in recent
    ]
