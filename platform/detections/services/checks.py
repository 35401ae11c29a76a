"""Creating checks: answer what is already known at once, queue the rest."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apitokens.models import ApiToken
from detections import queueing
from detections.models import (
    TERMINAL_ITEM_STATUSES,
    Check,
    CheckItem,
    CheckStatus,
    ItemStatus,
    Verdict,
)
from detections.selectors import fresh_image_id_for_url, verdict_for_version
from detections.services.images import sighting_record
from safefetch import FetchError, parse_target
from training.models import ModelVersion
from training.selectors import production_model_version
from verity.errors import ApplicationError


@dataclass(frozen=True)
class UrlItem:
    url: str
    page_url: str = ""
    alt: str = ""


@dataclass(frozen=True)
class UploadItem:
    file: UploadedFile
    page_url: str = ""
    # Where the bytes came from, when the client knows (e.g. a private or blob: URL).
    source_url: str = ""


def check_create(
    *,
    token: ApiToken | None,
    source: str,
    urls: Sequence[UrlItem] = (),
    uploads: Sequence[UploadItem] = (),
    reference: str = "",
) -> Check:
    """Create a check; items whose verdict the production model already gave are done at once."""
    _validate_size(len(urls) + len(uploads))
    version = production_model_version()
    with transaction.atomic():
        check = Check(token=token, source=source, reference=reference)
        items = [_url_item(check, i, item, version) for i, item in enumerate(urls)]
        items += [
            _upload_item(check, len(urls) + i, item, version) for i, item in enumerate(uploads)
        ]
        answered = [item.status in TERMINAL_ITEM_STATUSES for item in items]
        if all(answered):
            check.status, check.finished_at = CheckStatus.DONE, timezone.now()
        elif any(answered):
            check.status = CheckStatus.RUNNING
        check.save(force_insert=True)
        CheckItem.objects.bulk_create(items)  # sets their ids (RETURNING)
        queued = [item.pk for item in items if item.status == ItemStatus.QUEUED]
        transaction.on_commit(lambda: queueing.enqueue_item_processing(queued))
    return check


def _validate_size(count: int) -> None:
    if count == 0:
        raise ApplicationError(
            "empty_check",
            "Send at least one image: URLs as JSON `items`, or files in the multipart field"
            " `images`.",
        )
    limit = settings.VERITY_MAX_CHECK_ITEMS
    if count > limit:
        raise ApplicationError(
            "batch_too_large",
            f"A check holds at most {limit} images; this one has {count}. Split it.",
            detail={"max_items": limit},
        )


def _url_item(check: Check, index: int, item: UrlItem, version: ModelVersion) -> CheckItem:
    new = CheckItem(
        check_request=check, index=index, url=item.url, page_url=item.page_url, alt=item.alt
    )
    try:
        url = parse_target(item.url).url  # refused at once when it could never be fetched
    except FetchError as refused:
        _fail(new, str(refused.code), refused.message)
        return new
    image_id = fresh_image_id_for_url(url=url)
    verdict = verdict_for_version(image_id=image_id, model_version=version) if image_id else None
    if verdict is not None:
        _answer_from_history(new, verdict)
        sighting_record(
            image_id=verdict.image_id,
            url=url,
            page_url=item.page_url,
            source=check.source,
            fetched=False,
        )
    return new


def _upload_item(check: Check, index: int, item: UploadItem, version: ModelVersion) -> CheckItem:
    new = CheckItem(
        check_request=check,
        index=index,
        url=item.source_url,
        page_url=item.page_url,
        upload_name=(item.file.name or "")[:255],
    )
    if item.file.size is not None and item.file.size > settings.VERITY_MAX_IMAGE_BYTES:
        _fail(new, "too_large", _too_large_message(item.file.size))
        return new
    data = item.file.read()
    sha256 = hashlib.sha256(data).hexdigest()
    verdict = verdict_for_version(image_id=sha256, model_version=version)
    if verdict is not None:
        _answer_from_history(new, verdict)
        sighting_record(
            image_id=sha256,
            url=item.source_url,
            page_url=item.page_url,
            source=check.source,
            fetched=False,
        )
        return new
    # The io worker decodes it (the web tier never parses untrusted pixels).
    new.upload.save(f"{check.pk}-{index}", ContentFile(data), save=False)
    return new


def _too_large_message(size: int) -> str:
    limit_mb = settings.VERITY_MAX_IMAGE_BYTES / 1_000_000
    return f"The upload is {size / 1_000_000:.1f} MB; the limit is {limit_mb:.0f} MB."


def _answer_from_history(item: CheckItem, verdict: Verdict) -> None:
    item.status = ItemStatus.DONE
    item.cached = True
    item.image_id = verdict.image_id
    item.verdict = verdict


def _fail(item: CheckItem, code: str, message: str) -> None:
    item.status = ItemStatus.FAILED
    item.error_code = code
    item.error_message = message


def check_refresh_status(*, check_id: uuid.UUID | str) -> None:
    """Move the check to running or done to match its items (conditional, so races are safe)."""
    items = CheckItem.objects.filter(check_request__pk=check_id)
    if not items.exclude(status__in=TERMINAL_ITEM_STATUSES).exists():
        Check.objects.filter(pk=check_id).exclude(status=CheckStatus.DONE).update(
            status=CheckStatus.DONE, finished_at=timezone.now()
        )
    elif items.exclude(status=ItemStatus.QUEUED).exists():
        Check.objects.filter(pk=check_id, status=CheckStatus.QUEUED).update(
            status=CheckStatus.RUNNING
        )
