"""`decode_image`: untrusted bytes (downloaded or uploaded) to one upright RGB frame, or a refusal.

The guards, in the order they run:
1. bytes: empty or over `max_bytes` is refused before Pillow sees anything;
2. identity: Pillow may only try the allowed formats, and identifies the bytes by their content
   (never by a file name or a declared type). Anything else is named (HTML page, ZIP archive,
   SVG drawing, ...) and refused as `not_an_image` or `unsupported_format`;
3. pixels: the header's width x height is checked against `max_pixels` *before* any pixel is
   decoded, which is what stops decompression bombs (tiny files declaring gigapixels);
4. decoding: only the first frame of an animation is decoded. A file that ends early is
   `image_truncated` (always: `LOAD_TRUNCATED_IMAGES` stays off, because a detector scoring a
   half-grey picture would be scoring our padding, not the picture); any other decoder failure
   is `image_corrupt`.
Then the frame is turned upright (EXIF orientation) and brought to 8-bit RGB (see `modes`).

Nothing here changes global state at call time, so it is safe in threads (gunicorn, Celery).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import imagehash
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from imaging.errors import ImageErrorCode, ImageRejected
from imaging.modes import to_rgb
from imaging.sniff import looks_cut_short, sniff

logger = logging.getLogger(__name__)

# Register every plugin now, at import, so that decoding never has to change Pillow's registry.
Image.init()


@dataclass(frozen=True)
class DecodePolicy:
    """Limits for decoding one image; the defaults are production's."""

    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000  # of the first frame, as declared in the header
    min_side: int = 8  # smaller pictures carry too little for any detector
    allowed_formats: frozenset[str] = frozenset(
        {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF"}
    )  # Pillow's names; MPO is the multi-picture JPEG that phone cameras write


DEFAULT_DECODE_POLICY = DecodePolicy()


@dataclass(frozen=True)
class DecodedImage:
    """One decoded picture and what the platform records about it."""

    image: Image.Image  # 8-bit RGB, first frame, EXIF orientation applied
    format: str  # as identified from the content: "JPEG", "PNG", "WEBP", ...
    mime_type: str
    width: int  # after EXIF rotation
    height: int
    original_mode: str  # Pillow's mode before conversion: "CMYK", "P", "I;16", ...
    is_animated: bool
    frame_count: int
    has_exif: bool
    byte_size: int
    sha256: str  # hex digest of the bytes as received: the image's identity
    phash: str  # 64-bit perceptual hash (ImageHash's pHash) as 16 hex digits


def decode_image(data: bytes, *, policy: DecodePolicy = DEFAULT_DECODE_POLICY) -> DecodedImage:
    """Decode untrusted `data` under `policy`, or raise `ImageRejected` saying why not."""
    _check_byte_size(data, policy)
    with _opened(data, policy) as image:
        _check_dimensions(image, policy)
        image_format, mode = str(image.format), image.mode
        with _decoding(data, policy):
            image.load()  # the first frame only
            upright, has_exif = _upright(image)
            rgb = to_rgb(upright)
        frame_count = _frame_count(image)
        return DecodedImage(
            image=rgb,
            format=image_format,
            mime_type=_mime_type(image_format),
            width=rgb.width,
            height=rgb.height,
            original_mode=mode,
            is_animated=frame_count > 1,
            frame_count=frame_count,
            has_exif=has_exif,
            byte_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            phash=str(imagehash.phash(rgb)),
        )


def decode_stream(
    stream: IO[bytes], *, policy: DecodePolicy = DEFAULT_DECODE_POLICY
) -> DecodedImage:
    """`decode_image` for an upload: reads at most one byte past the cap, never the whole stream."""
    return decode_image(stream.read(policy.max_bytes + 1), policy=policy)


def _check_byte_size(data: bytes, policy: DecodePolicy) -> None:
    if not data:
        raise ImageRejected(ImageErrorCode.NOT_AN_IMAGE, "The file is empty.")
    if len(data) > policy.max_bytes:
        raise ImageRejected(
            ImageErrorCode.TOO_LARGE,
            f"The file is larger than the {policy.max_bytes / 1_000_000:g} MB limit.",
        )


@contextmanager
def _opened(data: bytes, policy: DecodePolicy) -> Iterator[ImageFile.ImageFile]:
    """The image identified from its content among the allowed formats, not yet decoded."""
    formats = sorted(policy.allowed_formats & Image.OPEN.keys())
    try:
        with _decoding(data, policy):
            image = Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError:
        raise _unidentified(data, policy) from None
    with image:
        if image.format not in policy.allowed_formats:  # MPO, when only JPEG is allowed
            raise _unsupported(f"a {image.format} image", policy)
        yield image


@contextmanager
def _decoding(data: bytes, policy: DecodePolicy) -> Iterator[None]:
    """Turn whatever the decoders raise into `ImageRejected`.

    Pillow's decoders answer hostile bytes with many exception types (OSError, SyntaxError,
    ValueError, EOFError, struct.error, zlib.error, IndexError, ...) that vary between
    versions and plugins. At this one trust boundary all of them mean the same thing: these
    bytes do not decode. The cause is logged for whoever investigates.
    """
    try:
        yield
    except (ImageRejected, UnidentifiedImageError):
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(None, policy) from None
    except Exception as error:
        logger.info("image did not decode: %r", error)
        raise _undecodable(data, error) from None


def _check_dimensions(image: Image.Image, policy: DecodePolicy) -> None:
    width, height = image.size
    if width * height > policy.max_pixels:
        raise _too_many_pixels((width, height), policy)
    if min(width, height) < policy.min_side:
        raise ImageRejected(
            ImageErrorCode.IMAGE_TOO_SMALL,
            f"The image is only {width}x{height} pixels; at least {policy.min_side} pixels on"
            " each side are needed to judge it.",
        )


def _upright(image: Image.Image) -> tuple[Image.Image, bool]:
    """The frame turned as its EXIF orientation says, and whether it carried EXIF at all.

    A damaged EXIF block must not cost the picture: it is then used as stored.
    """
    try:
        has_exif = bool(image.getexif())
        return ImageOps.exif_transpose(image), has_exif
    except Exception as error:  # EXIF parsing has the same zoo of exceptions as decoding
        logger.info("ignoring unreadable EXIF: %r", error)
        return image.copy(), False


def _frame_count(image: Image.Image) -> int:
    """How many frames the file holds (counting needs no decoding, only skipping)."""
    try:
        return max(int(getattr(image, "n_frames", 1)), 1)
    except Exception:  # a damaged later frame: count the frames before it
        return image.tell() + 1


def _unidentified(data: bytes, policy: DecodePolicy) -> ImageRejected:
    kind = sniff(data)
    if kind is None:
        return ImageRejected(
            ImageErrorCode.NOT_AN_IMAGE,
            f"The file is not an image in a format Verity reads ({_readable(policy)}).",
        )
    if not kind.is_image:
        return ImageRejected(
            ImageErrorCode.NOT_AN_IMAGE, f"The file is {kind.description}, not an image."
        )
    if kind.name in policy.allowed_formats:  # it says it is one, but Pillow cannot read it
        return _undecodable(data, None)
    return _unsupported(kind.description, policy)


def _undecodable(data: bytes, error: BaseException | None) -> ImageRejected:
    if "truncated" in str(error).lower() or looks_cut_short(data, sniff(data)):
        return ImageRejected(
            ImageErrorCode.IMAGE_TRUNCATED,
            "The image file is incomplete: it ends before the picture does (the download or"
            " upload was cut short).",
        )
    return ImageRejected(
        ImageErrorCode.IMAGE_CORRUPT, "The image file is damaged and cannot be decoded."
    )


def _unsupported(description: str, policy: DecodePolicy) -> ImageRejected:
    return ImageRejected(
        ImageErrorCode.UNSUPPORTED_FORMAT,
        f"The file is {description}; Verity reads {_readable(policy)} images.",
    )


def _too_many_pixels(size: tuple[int, int] | None, policy: DecodePolicy) -> ImageRejected:
    stated = f" ({size[0]}x{size[1]})" if size else ""
    return ImageRejected(
        ImageErrorCode.IMAGE_TOO_MANY_PIXELS,
        f"The image has more pixels{stated} than the {policy.max_pixels / 1_000_000:g}"
        " megapixel limit (pictures this large are a common way to exhaust memory).",
    )


_DISPLAY_NAMES = {"WEBP": "WebP"}


def _mime_type(image_format: str) -> str:
    if image_format == "MPO":
        return "image/jpeg"  # what browsers and servers call a multi-picture JPEG
    return Image.MIME.get(image_format, "application/octet-stream")


def _readable(policy: DecodePolicy) -> str:
    names = sorted(_DISPLAY_NAMES.get(name, name) for name in policy.allowed_formats - {"MPO"})
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
