"""What the extension asks of the platform: register, check a page's images, upload bytes.

Checks go through the platform's one check pipeline (``detections.services.checks``); this module
only shapes requests and answers for the extension.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apitokens.models import ApiToken, Scope, TokenKind
from apitokens.services import token_create
from detections.models import TERMINAL_ITEM_STATUSES, Check, CheckItem, CheckStatus, Source
from detections.selectors import check_get
from detections.services.checks import UploadItem, UrlItem, check_create
from extension_api.models import Install

WAIT_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Registration:
    install: Install
    key: str


def install_register(*, extension_version: str, browser: str) -> Registration:
    """A new install with its own token (submit + read), shown once."""
    with transaction.atomic():
        token, key = token_create(
            name=f"extension install ({browser} {extension_version})".strip(),
            scopes=[Scope.SUBMIT, Scope.READ],
            kind=TokenKind.EXTENSION,
        )
        install = Install.objects.create(
            token=token, extension_version=extension_version, browser=browser
        )
    return Registration(install=install, key=key)


def page_check_create(*, token: ApiToken, image_urls: Sequence[str], page_url: str) -> Check:
    urls = [UrlItem(url=url, page_url=page_url) for url in image_urls]
    return check_create(token=token, source=Source.EXTENSION, urls=urls)


def private_image_check_create(
    *, token: ApiToken, image: UploadedFile, source_url: str, page_url: str
) -> Check:
    """Bytes the extension fetched itself (behind a login, ``blob:`` URLs)."""
    upload = UploadItem(file=image, page_url=page_url, source_url=source_url)
    return check_create(token=token, source=Source.EXTENSION, uploads=[upload])


def page_check_wait(*, check_id: str, seconds: float) -> Check:
    """The check once any item has finished since the call began, all are done, or time is up
    (a long poll: the extension hears of each verdict soon, without a tight loop)."""
    deadline = time.monotonic() + seconds
    finished_before = _finished_items(check_id)
    while time.monotonic() < deadline:
        if Check.objects.filter(pk=check_id, status=CheckStatus.DONE).exists():
            break
        if _finished_items(check_id) > finished_before:
            break
        time.sleep(WAIT_POLL_SECONDS)
    return check_get(check_id=check_id)


def _finished_items(check_id: str) -> int:
    return CheckItem.objects.filter(
        check_request__pk=check_id, status__in=TERMINAL_ITEM_STATUSES
    ).count()
