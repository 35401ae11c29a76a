"""Builders for test images, honest and hostile, made in memory by the tests themselves."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def noise(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A picture with detail everywhere, so every truncation point cuts real data."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_declaring(
    width: int, height: int, *, extra_chunks: bytes = b"", rows: bytes = b""
) -> bytes:
    """A PNG whose header claims `width` x `height` RGB pixels, with whatever data we like."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra_chunks
        + png_chunk(b"IDAT", zlib.compress(rows or b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim another size."""
    data = bytearray(encode(noise(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_declaring(width: int, height: int) -> bytes:
    """A GIF whose logical screen is `width` x `height`, holding one 1x1 frame."""
    frame = encode(Image.new("P", (1, 1)), "GIF")
    return frame[:6] + struct.pack("<HH", width, height) + frame[10:]


def insert_segment(jpeg: bytes, marker: bytes, payload: bytes) -> bytes:
    """`jpeg` with a segment (`marker`, e.g. APP1 b"\\xff\\xe1") inserted after SOI."""
    return jpeg[:2] + marker + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]
