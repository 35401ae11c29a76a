"""Re-scoring after a promotion: the images people meet most (and most recently) are judged again
by the new production version, a limited number at a time; old verdicts stay in the history."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from detections import queueing
from detections.models import Check, CheckItem, CheckStatus, Image, ItemStatus, Source, Verdict
from training.selectors import production_model_version


def rescore_queue(*, limit: int) -> Check | None:
    """Queue up to ``limit`` already-judged images that production has not judged yet, most
    seen and newest first; None when there is nothing to do."""
    if limit <= 0:
        return None
    version = production_model_version()
    judged_by_production = Verdict.objects.filter(image_id=OuterRef("pk"), model_version=version)
    images = list(
        Image.objects.exclude(file="")
        .filter(verdicts__isnull=False)
        .exclude(Exists(judged_by_production))
        .exclude(
            Exists(CheckItem.objects.filter(image_id=OuterRef("pk"), status=ItemStatus.SCORING))
        )
        .annotate(seen=Count("sightings", distinct=True))
        .order_by("-seen", "-first_seen_at")[:limit]
    )
    if not images:
        return None
    with transaction.atomic():
        check = Check.objects.create(
            source=Source.API, reference=f"rescore:{version.label}", status=CheckStatus.RUNNING
        )
        now = timezone.now()
        CheckItem.objects.bulk_create(
            CheckItem(
                check_request=check, index=i, image=image, status=ItemStatus.SCORING, updated_at=now
            )
            for i, image in enumerate(images)
        )
        transaction.on_commit(queueing.wake_scoring)
    return check
