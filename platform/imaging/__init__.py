"""Safe decoding of untrusted image bytes, from URLs and uploads alike.

    from imaging import ImageRejected, decode_image

    try:
        decoded = decode_image(resource.body)  # bytes from safefetch, or an upload
    except ImageRejected as error:
        item.fail(code=error.code, message=error.message)  # stable code, sentence for people
    else:
        score(decoded.image)  # 8-bit RGB, upright, first frame; plus sha256, phash, sizes

Formats are identified from content only; byte size, pixel count (before decoding, against
decompression bombs) and minimum size are capped; truncated and damaged files are refused
with their own codes. This package imports no Django.
"""

from imaging.decode import (
    DEFAULT_DECODE_POLICY,
    DecodedImage,
    DecodePolicy,
    decode_image,
    decode_stream,
)
from imaging.errors import ImageErrorCode, ImageRejected

__all__ = [
    "DEFAULT_DECODE_POLICY",
    "DecodePolicy",
    "DecodedImage",
    "ImageErrorCode",
    "ImageRejected",
    "decode_image",
    "decode_stream",
]
