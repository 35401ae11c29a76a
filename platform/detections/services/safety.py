"""The guarded way into the platform for untrusted URLs and bytes, with limits from settings.

``safefetch`` and ``imaging`` do the work; this module only sets their policies and sorts their
failures into the ones worth retrying and the ones that end an item.
"""

from __future__ import annotations

from functools import cache
from ipaddress import ip_network

from django.conf import settings

from imaging import DecodedImage, DecodePolicy, ImageRejected, decode_image
from safefetch import FetchError, FetchErrorCode, FetchPolicy, safe_get

_TRANSIENT_CODES = {FetchErrorCode.TIMEOUT, FetchErrorCode.CONNECTION_FAILED}


class ItemRejected(Exception):
    """The item cannot be judged; ``code`` is stable, ``message`` is for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransientFetchFailure(Exception):
    """The fetch may succeed if tried again later (timeouts, refused connections, 5xx)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@cache
def fetch_policy() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=settings.VERITY_MAX_IMAGE_BYTES,
        total_timeout=settings.VERITY_FETCH_TIMEOUT_SECONDS,
        max_redirects=settings.VERITY_FETCH_MAX_REDIRECTS,
        exempt_networks=frozenset(ip_network(net) for net in settings.VERITY_FETCH_ALLOW_NETWORKS),
    )


@cache
def decode_policy() -> DecodePolicy:
    return DecodePolicy(
        max_pixels=settings.VERITY_MAX_IMAGE_PIXELS, max_bytes=settings.VERITY_MAX_IMAGE_BYTES
    )


def fetch_untrusted(url: str) -> bytes:
    try:
        return safe_get(url, policy=fetch_policy()).body
    except FetchError as error:
        if _is_transient(error):
            raise TransientFetchFailure(str(error.code), error.message) from error
        raise ItemRejected(str(error.code), error.message) from error


def decode_untrusted(data: bytes) -> DecodedImage:
    try:
        return decode_image(data, policy=decode_policy())
    except ImageRejected as rejection:
        raise ItemRejected(str(rejection.code), rejection.message) from rejection


def _is_transient(error: FetchError) -> bool:
    if error.code in _TRANSIENT_CODES:
        return True
    status = error.status or 0
    return error.code == FetchErrorCode.HTTP_STATUS and (status >= 500 or status == 429)
