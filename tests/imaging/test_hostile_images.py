"""Hostile bytes: each ends as one `ImageRejected` with a stable code and a readable message."""

from __future__ import annotations

import dataclasses
import time
import zlib

import pytest
from PIL import Image

from imaging import DEFAULT_DECODE_POLICY, DecodePolicy, ImageRejected, decode_image
from tests.imaging.support import (
    encode,
    gif_declaring,
    insert_segment,
    jpeg_declaring,
    noise,
    png_chunk,
    png_declaring,
)
from tests.safefetch.support import assert_readable

JPEG = encode(noise(), "JPEG")
PNG = encode(noise(), "PNG")
GIF = encode(noise().convert("P"), "GIF")
WEBP = encode(noise(), "WEBP")
BOMB_TEXT = zlib.compress(b"A" * 50_000_000)  # 50 MB of metadata in 50 kB


def flipped(data: bytes, *, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


HOSTILE = {
    # not images at all, whatever they were served or uploaded as
    "empty": (b"", "not_an_image"),
    "html page": (b"<!DOCTYPE html><html><body>Not found</body></html>", "not_an_image"),
    "html after a byte-order mark": (b"\xef\xbb\xbf\n  <html><head></head></html>", "not_an_image"),
    "zip archive": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(64), "not_an_image"),
    "pdf document": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not_an_image"),
    "gzip archive": (b"\x1f\x8b\x08\x00" + bytes(32), "not_an_image"),
    "windows program": (b"MZ\x90\x00\x03" + bytes(64), "not_an_image"),
    "json": (b'{"error": "rate limited"}', "not_an_image"),
    "plain text": (b"hello, this is not a picture\n", "not_an_image"),
    "random bytes": (bytes(range(256)) * 4, "not_an_image"),
    # image formats that we do not read
    "svg drawing": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
        "unsupported_format",
    ),
    "svg with xml prolog": (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        "unsupported_format",
    ),
    "windows icon": (encode(noise(32, 32), "ICO"), "unsupported_format"),
    "jpeg 2000": (encode(noise(32, 32), "JPEG2000"), "unsupported_format"),
    "photoshop": (b"8BPS\x00\x01" + bytes(64), "unsupported_format"),
    "heic": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "unsupported_format"),
    "postscript (never handed to ghostscript)": (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
        "unsupported_format",
    ),
    # cut short
    "jpeg cut in half": (JPEG[: len(JPEG) // 2], "image_truncated"),
    "jpeg without its last bytes": (JPEG[:-2], "image_truncated"),
    "jpeg headers only": (JPEG[:300], "image_truncated"),
    "png cut in half": (PNG[: len(PNG) // 2], "image_truncated"),
    "png cut inside its header": (PNG[:30], "image_truncated"),
    "gif cut in half": (GIF[: len(GIF) // 2], "image_truncated"),
    "webp cut in half": (WEBP[: len(WEBP) // 2], "image_truncated"),
    # damaged
    "png with a broken header checksum": (flipped(PNG, at=29), "image_corrupt"),
    "png with a 50 MB text chunk": (
        png_declaring(10, 10, extra_chunks=png_chunk(b"zTXt", b"k\x00\x00" + BOMB_TEXT)),
        "image_corrupt",
    ),
    "png with a 50 MB colour profile": (
        png_declaring(10, 10, extra_chunks=png_chunk(b"iCCP", b"p\x00\x00" + BOMB_TEXT)),
        "image_corrupt",
    ),
    # decompression bombs: tiny files declaring enormous pictures
    "png declaring 100000x100000": (png_declaring(100_000, 100_000), "image_too_many_pixels"),
    "png declaring 8000x8000": (png_declaring(8000, 8000), "image_too_many_pixels"),
    "jpeg declaring 65000x65000": (jpeg_declaring(65_000, 65_000), "image_too_many_pixels"),
    "gif declaring 65535x65535": (gif_declaring(65_535, 65_535), "image_too_many_pixels"),
    # too small to judge
    "tracking pixel": (encode(Image.new("RGB", (1, 1)), "GIF"), "image_too_small"),
    "a sliver": (encode(Image.new("RGB", (2000, 4)), "PNG"), "image_too_small"),
}


@pytest.mark.parametrize(("data", "code"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bytes_are_refused_with_a_clear_code(data: bytes, code: str) -> None:
    started = time.monotonic()
    with pytest.raises(ImageRejected) as rejected:
        decode_image(data)

    assert rejected.value.code == code
    assert_readable(rejected.value)
    assert time.monotonic() - started < 2.0  # refused from the headers, not after decoding


def test_the_refusal_names_what_the_bytes_are() -> None:
    with pytest.raises(ImageRejected) as rejected:
        decode_image(HOSTILE["html page"][0])
    assert rejected.value.message == "The file is an HTML page, not an image."
    with pytest.raises(ImageRejected) as rejected:
        decode_image(HOSTILE["svg drawing"][0])
    assert rejected.value.message.startswith("The file is an SVG drawing; Verity reads AVIF,")


def test_bytes_over_the_cap_are_refused_before_decoding() -> None:
    policy = dataclasses.replace(DEFAULT_DECODE_POLICY, max_bytes=len(JPEG) - 1)
    with pytest.raises(ImageRejected) as rejected:
        decode_image(JPEG, policy=policy)
    assert rejected.value.code == "too_large"
    assert_readable(rejected.value)


@pytest.mark.parametrize(
    ("data", "allowed"),
    [
        (encode(noise(), "TIFF"), {"JPEG", "PNG"}),
        (encode(noise(), "MPO", save_all=True, append_images=[noise(seed=1)]), {"JPEG", "PNG"}),
        (PNG, {"JPEG"}),
    ],
    ids=["tiff", "multi-picture jpeg", "png"],
)
def test_formats_outside_the_policy_are_unsupported(data: bytes, allowed: set[str]) -> None:
    with pytest.raises(ImageRejected) as rejected:
        decode_image(data, policy=DecodePolicy(allowed_formats=frozenset(allowed)))
    assert rejected.value.code == "unsupported_format"
    assert_readable(rejected.value)


def test_a_compressed_stream_longer_than_the_picture_is_not_decompressed() -> None:
    """10x10 pixels declared, 30 MB of zeros in the data: only what the header needs is read."""
    data = png_declaring(10, 10, rows=b"\x00" * 30_000_000)

    started = time.monotonic()
    decoded = decode_image(data)

    assert decoded.image.size == (10, 10)
    assert time.monotonic() - started < 2.0


def test_thousands_of_frames_cost_one_frame_of_decoding() -> None:
    frames = [Image.new("RGB", (16, 16), (index % 256, index // 256, 0)) for index in range(2000)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)

    decoded = decode_image(data)

    assert (decoded.is_animated, decoded.frame_count) == (True, 2000)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_damaged_exif_block_does_not_cost_the_picture() -> None:
    data = insert_segment(
        JPEG, b"\xff\xe1", b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(8)
    )

    decoded = decode_image(data)

    assert decoded.image.size == (96, 64)
