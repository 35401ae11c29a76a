"""The one error type of `imaging`: a stable code for programs, a sentence for people."""

from __future__ import annotations

from enum import StrEnum


class ImageErrorCode(StrEnum):
    """Why bytes were not accepted as an image. The values are stable: the API relies on them."""

    TOO_LARGE = "too_large"  # the same code, and meaning, as a fetch over the byte cap
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    IMAGE_TRUNCATED = "image_truncated"
    IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_CORRUPT = "image_corrupt"


class ImageRejected(Exception):
    """Bytes that will not be scored, and why (`code`) in words a person understands."""

    def __init__(self, code: ImageErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ImageRejected(code={self.code.value!r}, message={self.message!r})"
