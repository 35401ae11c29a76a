"""Storing images by content and recording where they were seen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from detections.models import Image, Sighting, image_file_path, url_digest

if TYPE_CHECKING:
    from imaging import DecodedImage


def image_ingest(*, decoded: DecodedImage, data: bytes) -> Image:
    """The Image for these bytes, created (with its bytes stored) the first time they are seen."""
    existing = Image.objects.filter(pk=decoded.sha256).first()
    if existing is not None:
        return existing
    image = Image(
        sha256=decoded.sha256,
        phash=decoded.phash,
        width=decoded.width,
        height=decoded.height,
        format=decoded.format,
        byte_size=len(data),
        metadata=_metadata(decoded),
    )
    path = image_file_path(image, "")
    # Content-addressed: the same bytes always land at the same path, written once.
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    image.file.name = path
    try:
        with transaction.atomic():
            image.save(force_insert=True)
    except IntegrityError:  # another worker stored the same bytes a moment ago
        return Image.objects.get(pk=decoded.sha256)
    return image


def _metadata(decoded: DecodedImage) -> dict[str, object]:
    return {
        "mime_type": decoded.mime_type,
        "original_mode": decoded.original_mode,
        "is_animated": decoded.is_animated,
        "frame_count": decoded.frame_count,
        "has_exif": decoded.has_exif,
    }


def sighting_record(*, image_id: str, url: str, page_url: str, source: str, fetched: bool) -> None:
    """Note that the image was seen at ``url`` (``fetched``: its bytes were just downloaded)."""
    now = timezone.now()
    fetched_at = {"last_fetched_at": now} if fetched else {}
    seen_before = Sighting.objects.filter(
        image_id=image_id,
        url_hash=url_digest(url),
        page_url_hash=url_digest(page_url),
        source=source,
    )
    if seen_before.update(last_seen_at=now, times_seen=F("times_seen") + 1, **fetched_at):
        return  # the common case: one UPDATE
    try:
        with transaction.atomic():
            Sighting.objects.create(
                image_id=image_id,
                url=url,
                url_hash=url_digest(url),
                page_url=page_url,
                page_url_hash=url_digest(page_url),
                source=source,
                last_seen_at=now,
                **fetched_at,
            )
    except IntegrityError:  # recorded by another request a moment ago
        seen_before.update(last_seen_at=now, times_seen=F("times_seen") + 1, **fetched_at)
