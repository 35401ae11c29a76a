"""Reading images, checks and verdict history."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from detections.canonical import canonical_url
from detections.models import (
    Check,
    CheckItem,
    Image,
    Sighting,
    Verdict,
    url_digest,
)
from review.selectors import latest_label_subquery
from training.models import ModelVersion
from verity.errors import ApplicationError


def check_get(*, check_id: str) -> Check:
    items = CheckItem.objects.select_related("verdict__model_version").order_by("index")
    check = Check.objects.prefetch_related(Prefetch("items", queryset=items)).filter(pk=check_id)
    found = check.first()
    if found is None:
        raise ApplicationError("not_found", "No check with this id.", status_code=404)
    return found


def verdict_for_version(*, image_id: str, model_version: ModelVersion) -> Verdict | None:
    return (
        Verdict.objects.select_related("model_version")
        .filter(image_id=image_id, model_version=model_version)
        .first()
    )


def fresh_image_id_for_url(*, url: str) -> str | None:
    """The image last fetched from this URL, if that fetch is recent enough to trust."""
    cutoff = timezone.now() - timedelta(seconds=settings.VERITY_URL_FRESHNESS_SECONDS)
    sighting = (
        Sighting.objects.filter(
            url_hash=url_digest(canonical_url(url)), last_fetched_at__gte=cutoff
        )
        .order_by("-last_fetched_at")
        .values_list("image_id", flat=True)
        .first()
    )
    return sighting


def image_get(*, sha256: str) -> Image:
    image = Image.objects.filter(pk=sha256.lower()).first()
    if image is None:
        raise ApplicationError("not_found", "No image with this SHA-256 is known.", status_code=404)
    return image


def with_human_label(verdicts: QuerySet[Verdict]) -> QuerySet[Verdict]:
    """Each verdict with its image's newest reviewer label beside it (``human_label``)."""
    return verdicts.annotate(human_label=latest_label_subquery())


def image_verdicts(*, image: Image) -> QuerySet[Verdict]:
    return with_human_label(
        image.verdicts.select_related("model_version").order_by("-created_at", "-id")
    )


def image_sightings(*, image: Image) -> QuerySet[Sighting]:
    return image.sightings.order_by("-last_seen_at", "-id")


def verdicts_for_url(
    *,
    url: str | None = None,
    band: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    model_version: str | None = None,
) -> QuerySet[Verdict]:
    """Verdict history, newest first, for images seen at ``url`` (and/or other filters)."""
    verdicts = Verdict.objects.select_related("model_version")
    if url is not None:
        verdicts = verdicts.filter(image__sightings__url_hash=url_digest(canonical_url(url)))
    if source is not None:
        verdicts = verdicts.filter(image__sightings__source=source)
    if band is not None:
        verdicts = verdicts.filter(band=band)
    if since is not None:
        verdicts = verdicts.filter(created_at__gte=since)
    if until is not None:
        verdicts = verdicts.filter(created_at__lt=until)
    if model_version is not None:
        verdicts = verdicts.filter(model_version__version=model_version)
    return with_human_label(verdicts.distinct())


def latest_verdicts_by_image(*, image_ids: list[str]) -> dict[str, Verdict]:
    """Each image's newest verdict (from whichever model version gave it)."""
    latest: dict[str, Verdict] = {}
    rows = with_human_label(
        Verdict.objects.select_related("model_version")
        .filter(image_id__in=image_ids)
        .order_by("image_id", "-created_at", "-id")
    )
    for verdict in rows:
        latest.setdefault(verdict.image_id, verdict)
    return latest


def latest_image_ids_for_urls(*, urls: list[str]) -> dict[str, str]:
    """For each URL, the image most recently seen there."""
    by_hash = {url_digest(canonical_url(url)): url for url in urls}
    found: dict[str, str] = {}
    rows = (
        Sighting.objects.filter(url_hash__in=list(by_hash))
        .order_by("url_hash", "-last_seen_at")
        .values_list("url_hash", "image_id")
    )
    for url_hash, image_id in rows:
        found.setdefault(by_hash[url_hash], image_id)
    return found
