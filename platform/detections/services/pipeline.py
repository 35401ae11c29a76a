"""The work behind the queues: fetch and ingest one item (io), score pending items in batches
(gpu), and put back work that a dead worker left half-done (sweep).

Every step claims its item with a conditional UPDATE, so a redelivered or duplicated task finds
nothing to do, and verdicts are unique per (image, model version): redelivery never duplicates.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL.Image import Image as PILImage

from detections import queueing
from detections.canonical import canonical_url
from detections.models import TERMINAL_ITEM_STATUSES, CheckItem, Image, ItemStatus, Verdict
from detections.selectors import verdict_for_version
from detections.services.checks import check_refresh_status
from detections.services.images import image_ingest, sighting_record
from detections.services.safety import (
    ItemRejected,
    TransientFetchFailure,
    decode_untrusted,
    fetch_untrusted,
)
from training.models import ModelVersion
from training.selectors import production_model_version

logger = logging.getLogger(__name__)

# Claims per item (one for fetching, one for scoring, the rest after crashes): an image that
# kills its worker every time must end as an error instead of looping for ever.
MAX_ATTEMPTS = 6


# --- io: fetch, decode, deduplicate ------------------------------------------------------------


def item_fetch_and_ingest(*, item_id: int) -> None:
    """Fetch (or read the upload), decode and store one item's image, then hand it to scoring.

    Raises ``TransientFetchFailure`` (after putting the item back in the queue) when a retry may
    succeed; every other failure ends the item with a stable error code.
    """
    item = _claim_for_fetching(item_id)
    if item is None:
        return  # done already, or another worker has it: a redelivery is harmless
    if item.attempts > MAX_ATTEMPTS:
        _finish_failed(item, "processing_failed", "The image could not be processed; giving up.")
        return
    try:
        data = _read_upload(item) if item.is_upload else fetch_untrusted(item.url)
        decoded = decode_untrusted(data)
    except TransientFetchFailure:
        _requeue(item)
        raise
    except ItemRejected as rejection:
        _finish_failed(item, rejection.code, rejection.message)
        return
    image = image_ingest(decoded=decoded, data=data)
    sighting_record(
        image_id=image.pk,
        url=canonical_url(item.url),
        page_url=item.page_url,
        source=item.check_request.source,
        fetched=not item.is_upload,
    )
    _discard_upload(item)
    _route_to_scoring(item, image)


def _claim_for_fetching(item_id: int) -> CheckItem | None:
    claimed = CheckItem.objects.filter(pk=item_id, status=ItemStatus.QUEUED).update(
        status=ItemStatus.FETCHING, attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    if not claimed:
        return None
    item = CheckItem.objects.select_related("check_request").get(pk=item_id)
    check_refresh_status(check_id=item.check_request_id)
    return item


def _read_upload(item: CheckItem) -> bytes:
    with item.upload.open("rb") as staged:
        return staged.read()


def _discard_upload(item: CheckItem) -> None:
    if item.is_upload:
        item.upload.delete(save=False)  # the bytes now live content-addressed with the Image
        CheckItem.objects.filter(pk=item.pk).update(upload="")


def _route_to_scoring(item: CheckItem, image: Image) -> None:
    verdict = verdict_for_version(image_id=image.pk, model_version=production_model_version())
    if verdict is not None:
        _finish_done([item.pk], verdict, cached=True)
        check_refresh_status(check_id=item.check_request_id)
        return
    CheckItem.objects.filter(pk=item.pk, status=ItemStatus.FETCHING).update(
        status=ItemStatus.SCORING, image=image, claimed_at=None, updated_at=timezone.now()
    )
    transaction.on_commit(queueing.wake_scoring)


def _requeue(item: CheckItem) -> None:
    CheckItem.objects.filter(pk=item.pk, status=ItemStatus.FETCHING).update(
        status=ItemStatus.QUEUED, updated_at=timezone.now()
    )


def _finish_failed(item: CheckItem, code: str, message: str) -> None:
    CheckItem.objects.filter(pk=item.pk).exclude(status__in=TERMINAL_ITEM_STATUSES).update(
        status=ItemStatus.FAILED,
        error_code=code,
        error_message=message,
        claimed_at=None,
        updated_at=timezone.now(),
    )
    check_refresh_status(check_id=item.check_request_id)


def _finish_done(item_ids: Sequence[int], verdict: Verdict, *, cached: bool) -> None:
    CheckItem.objects.filter(pk__in=item_ids).exclude(status__in=TERMINAL_ITEM_STATUSES).update(
        status=ItemStatus.DONE,
        image_id=verdict.image_id,
        verdict=verdict,
        cached=cached,
        claimed_at=None,
        updated_at=timezone.now(),
    )


# --- gpu: score pending items in micro-batches -------------------------------------------------


class Prediction(Protocol):
    probability_ai: float
    band: str
    model_scores: dict[str, float | None]
    face_found: bool
    abstain_reason: str | None


class Scorer(Protocol):
    """What the scoring worker runs: one loaded model version (see ``detections.engine``)."""

    model_version: ModelVersion

    def predict(self, images: Sequence[PILImage]) -> Sequence[Prediction]: ...


@dataclass(frozen=True)
class BatchResult:
    items: int
    images: int
    verdicts_created: int


def items_score_pending(*, scorer: Scorer, batch_size: int, wait_ms: int) -> BatchResult:
    """Claim up to ``batch_size`` items waiting for a score (waiting ``wait_ms`` once for more
    to arrive), score their distinct images in one batch, and store one verdict per image."""
    item_ids = _claim_for_scoring(batch_size)
    if 0 < len(item_ids) < batch_size and wait_ms > 0:
        time.sleep(wait_ms / 1000)
        item_ids += _claim_for_scoring(batch_size - len(item_ids))
    if not item_ids:
        return BatchResult(items=0, images=0, verdicts_created=0)
    by_image = _items_by_image(item_ids)
    created = _score_images(scorer, by_image)
    for check_id in set(
        CheckItem.objects.filter(pk__in=item_ids).values_list("check_request_id", flat=True)
    ):
        check_refresh_status(check_id=check_id)
    return BatchResult(items=len(item_ids), images=len(by_image), verdicts_created=created)


def _claim_for_scoring(limit: int) -> list[int]:
    with transaction.atomic():
        candidates = list(
            CheckItem.objects.select_for_update(skip_locked=True)
            .filter(status=ItemStatus.SCORING, claimed_at__isnull=True)
            .order_by("updated_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        CheckItem.objects.filter(pk__in=candidates, claimed_at__isnull=True).update(
            claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    exhausted = list(CheckItem.objects.filter(pk__in=candidates, attempts__gt=MAX_ATTEMPTS))
    for item in exhausted:
        _finish_failed(item, "processing_failed", "The image could not be scored; giving up.")
    exhausted_ids = {item.pk for item in exhausted}
    return [pk for pk in candidates if pk not in exhausted_ids]


def _items_by_image(item_ids: list[int]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for item_id, image_id in CheckItem.objects.filter(pk__in=item_ids).values_list(
        "id", "image_id"
    ):
        grouped[image_id].append(item_id)
    return grouped


def _score_images(scorer: Scorer, by_image: dict[str, list[int]]) -> int:
    version = scorer.model_version
    to_score: list[tuple[Image, PILImage]] = []
    for image in Image.objects.filter(pk__in=list(by_image)):
        known = verdict_for_version(image_id=image.pk, model_version=version)
        if known is not None:  # scored meanwhile (e.g. the same image in another check)
            _finish_done(by_image[image.pk], known, cached=True)
            continue
        try:
            with image.file.open("rb") as stored:
                to_score.append((image, decode_untrusted(stored.read()).image))
        except (ItemRejected, OSError) as exc:
            logger.warning("stored image %s unreadable: %s", image.pk, exc)
            for item in CheckItem.objects.filter(pk__in=by_image[image.pk]):
                _finish_failed(item, "image_unavailable", "The stored image could not be read.")
    if not to_score:
        return 0
    predictions = scorer.predict([pixels for _, pixels in to_score])
    created = 0
    for (image, _), prediction in zip(to_score, predictions, strict=True):
        verdict, was_created = _verdict_store(image, version, prediction)
        created += int(was_created)
        _finish_done(by_image[image.pk], verdict, cached=False)
    return created


def _verdict_store(
    image: Image, version: ModelVersion, prediction: Prediction
) -> tuple[Verdict, bool]:
    return Verdict.objects.get_or_create(
        image=image,
        model_version=version,
        defaults={
            "probability_ai": float(prediction.probability_ai),
            "band": prediction.band,
            "model_scores": dict(prediction.model_scores),
            "face_found": bool(prediction.face_found),
            "abstain_reason": prediction.abstain_reason or "",
        },
    )


# --- sweep: recover work that a dead worker left behind ----------------------------------------


@dataclass(frozen=True)
class SweepResult:
    requeued_for_fetch: int
    released_for_scoring: int


def stuck_items_requeue(*, older_than: timedelta | None = None) -> SweepResult:
    """Re-queue items stuck past the timeout: fetches that never ended and scoring claims whose
    worker died. Safe to run at any time, from any number of processes."""
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.VERITY_STUCK_AFTER_SECONDS))
    now = timezone.now()
    stale_fetch = CheckItem.objects.filter(
        status__in=(ItemStatus.QUEUED, ItemStatus.FETCHING), updated_at__lt=cutoff
    )
    fetch_ids = list(stale_fetch.values_list("id", flat=True))
    CheckItem.objects.filter(pk__in=fetch_ids).update(status=ItemStatus.QUEUED, updated_at=now)
    released = CheckItem.objects.filter(
        Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True, updated_at__lt=cutoff),
        status=ItemStatus.SCORING,
    ).update(claimed_at=None, updated_at=now)
    if fetch_ids:
        transaction.on_commit(lambda: queueing.enqueue_item_processing(fetch_ids))
    if released:
        transaction.on_commit(queueing.wake_scoring)
    if fetch_ids or released:
        logger.warning(
            "sweep: re-queued %d fetches, released %d scoring claims", len(fetch_ids), released
        )
    return SweepResult(requeued_for_fetch=len(fetch_ids), released_for_scoring=released)


# --- at once, in this process (the terminal's check_image) ----------------------------------


def image_judge_now(*, data: bytes, url: str, source: str, scorer: Scorer) -> Verdict:
    """Decode, store and score one image synchronously; history records it like any other."""
    decoded = decode_untrusted(data)
    image = image_ingest(decoded=decoded, data=data)
    sighting_record(image_id=image.pk, url=url, page_url="", source=source, fetched=bool(url))
    known = verdict_for_version(image_id=image.pk, model_version=scorer.model_version)
    if known is not None:
        return known
    prediction = scorer.predict([decoded.image])[0]
    verdict, _ = _verdict_store(image, scorer.model_version, prediction)
    return verdict
