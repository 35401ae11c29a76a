"""Retention: page URLs say what a person was reading, so they are erased after
``VERITY_PAGE_URL_RETENTION_DAYS`` (image URLs and verdicts stay: they are the history)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from detections.models import CheckItem, Sighting


def page_urls_erase(*, older_than_days: int) -> int:
    """Erase page URLs last seen before the cut-off; returns how many records changed."""
    if older_than_days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=older_than_days)
    sightings = Sighting.objects.filter(last_seen_at__lt=cutoff).exclude(page_url="")
    # The hash of a URL can be guessed back from a list of URLs: replace it too, with a value
    # unique per row so the (image, url, page, source) uniqueness still holds.
    erased = sightings.update(page_url="", page_url_hash=Concat(Value("erased-"), "id"))
    erased += (
        CheckItem.objects.filter(check_request__created_at__lt=cutoff)
        .exclude(page_url="")
        .update(page_url="")
    )
    return erased
