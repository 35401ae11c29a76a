"""Decoding honest images: every format and colour mode ends as one upright 8-bit RGB frame."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from imaging import DecodePolicy, ImageRejected, decode_image, decode_stream
from tests.imaging.support import encode, noise

RED, BLUE, GREEN, WHITE = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 255)


def near(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 4) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def half_red_half_blue(width: int = 40, height: int = 20) -> Image.Image:
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


@pytest.mark.parametrize(
    ("image_format", "mime_type", "options"),
    [
        ("JPEG", "image/jpeg", {"quality": 95}),
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"lossless": True}),
        ("GIF", "image/gif", {}),
        ("BMP", "image/bmp", {}),
        ("TIFF", "image/tiff", {}),
        ("AVIF", "image/avif", {"quality": 90}),
    ],
)
def test_every_allowed_format_decodes_to_the_same_picture(
    image_format: str, mime_type: str, options: dict[str, object]
) -> None:
    data = encode(half_red_half_blue(), image_format, **options)

    decoded = decode_image(data)

    assert (decoded.format, decoded.mime_type) == (image_format, mime_type)
    assert (decoded.width, decoded.height) == (40, 20)
    assert decoded.image.mode == "RGB"
    assert near(decoded.image.getpixel((5, 10)), RED, tolerance=8)
    assert near(decoded.image.getpixel((35, 10)), BLUE, tolerance=8)
    assert (decoded.byte_size, decoded.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_the_content_decides_the_format_not_a_name_or_a_type() -> None:
    """A PNG is a PNG, whatever it was called: decode_image only ever sees the bytes."""
    assert decode_image(encode(half_red_half_blue(), "PNG")).format == "PNG"


def test_the_perceptual_hash_survives_re_encoding() -> None:
    picture = noise(256, 256).resize((64, 64)).resize((256, 256))  # smooth enough to hash
    as_png = decode_image(encode(picture, "PNG"))
    as_jpeg = decode_image(encode(picture, "JPEG", quality=90))

    assert len(as_png.phash) == 16 and int(as_png.phash, 16) >= 0
    distance = bin(int(as_png.phash, 16) ^ int(as_jpeg.phash, 16)).count("1")
    assert distance <= 4
    assert as_png.sha256 != as_jpeg.sha256


@pytest.mark.parametrize(
    ("orientation", "top_left", "size"),
    [(1, RED, (40, 20)), (3, BLUE, (40, 20)), (6, RED, (20, 40)), (8, BLUE, (20, 40))],
)
def test_exif_orientation_is_applied(
    orientation: int, top_left: tuple[int, int, int], size: tuple[int, int]
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(half_red_half_blue(), "JPEG", quality=95, exif=exif.tobytes())

    decoded = decode_image(data)

    assert decoded.has_exif
    assert (decoded.width, decoded.height) == size
    assert near(decoded.image.getpixel((2, 2)), top_left, tolerance=8)


def test_cmyk_becomes_rgb() -> None:
    decoded = decode_image(encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))
    assert decoded.original_mode == "CMYK"
    assert near(decoded.image.getpixel((8, 8)), RED)


def test_adobe_inverted_cmyk_becomes_rgb() -> None:
    """Photoshop stores CMYK JPEGs inverted and says so in an APP14 'Adobe' segment."""
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")
    assert b"Adobe" in data  # Pillow writes CMYK the way Photoshop does
    assert near(decode_image(data).image.getpixel((8, 8)), RED)


@pytest.mark.parametrize("image_format", ["PNG", "GIF"])
def test_a_transparent_palette_colour_shows_white(image_format: str) -> None:
    palette_image = Image.new("P", (16, 16), 0)
    palette_image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette_image.paste(1, (0, 0, 8, 16))  # left half red, right half colour 0 (transparent)

    decoded = decode_image(encode(palette_image, image_format, transparency=0))

    assert decoded.original_mode == "P"
    assert decoded.image.getpixel((2, 2)) == RED
    assert decoded.image.getpixel((12, 2)) == WHITE


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("RGBA", (16, 16), (255, 0, 0, 0)), WHITE),  # fully transparent
        (Image.new("RGBA", (16, 16), (255, 0, 0, 255)), RED),  # opaque
        (Image.new("RGBA", (16, 16), (0, 0, 0, 128)), (127, 127, 127)),  # half black on white
        (Image.new("LA", (16, 16), (0, 0)), WHITE),
    ],
    ids=["transparent", "opaque", "half", "grey+alpha"],
)
def test_alpha_is_composited_on_white(image: Image.Image, expected: tuple[int, int, int]) -> None:
    assert near(decode_image(encode(image, "PNG")).image.getpixel((4, 4)), expected, tolerance=1)


@pytest.mark.parametrize("image_format", ["PNG", "TIFF"])
def test_16_bit_grey_is_scaled_not_clipped(image_format: str) -> None:
    levels = np.array([0, 257, 32896, 65535], dtype=np.uint16)  # 0, 1, 128, 255 in 8 bits
    data = encode(Image.fromarray(np.tile(levels.repeat(4), (16, 1))), image_format)

    decoded = decode_image(data)

    assert decoded.original_mode == "I;16"
    assert [decoded.image.getpixel((x, 0)) for x in (0, 4, 8, 12)] == [
        (0, 0, 0),
        (1, 1, 1),
        (128, 128, 128),
        (255, 255, 255),
    ]


def test_32_bit_integers_are_stretched_to_their_range() -> None:
    levels = np.array([-5, 70_000, 140_000, 139_995], dtype=np.int32)
    decoded = decode_image(encode(Image.fromarray(np.tile(levels.repeat(4), (16, 1))), "TIFF"))
    assert decoded.original_mode == "I"
    assert [decoded.image.getpixel((x, 0))[0] for x in (0, 4, 8)] == [0, 128, 255]


def test_float_images_from_0_to_1_fill_0_to_255() -> None:
    ramp = np.tile(np.linspace(0.0, 1.0, 16, dtype=np.float32), (16, 1))
    decoded = decode_image(encode(Image.fromarray(ramp), "TIFF"))
    assert decoded.original_mode == "F"
    assert [decoded.image.getpixel((x, 0))[0] for x in (0, 15)] == [0, 255]


def test_one_bit_images_are_black_and_white() -> None:
    bilevel = Image.new("1", (16, 16), 0)
    bilevel.paste(1, (8, 0, 16, 16))
    decoded = decode_image(encode(bilevel, "PNG"))
    assert (decoded.image.getpixel((2, 2)), decoded.image.getpixel((12, 2))) == ((0, 0, 0), WHITE)


@pytest.mark.parametrize(
    ("image_format", "options"),
    [
        ("GIF", {"duration": 100, "loop": 0}),
        ("PNG", {}),  # APNG
        ("WEBP", {"lossless": True}),
        ("TIFF", {}),  # multi-page
        ("MPO", {}),  # the multi-picture JPEG of phone cameras
    ],
)
def test_animations_give_their_first_frame(image_format: str, options: dict[str, object]) -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in (RED, BLUE, GREEN)]
    data = encode(frames[0], image_format, save_all=True, append_images=frames[1:], **options)

    decoded = decode_image(data)

    assert (decoded.is_animated, decoded.frame_count) == (True, 3)
    assert near(decoded.image.getpixel((5, 5)), RED)


def test_a_still_image_is_one_frame() -> None:
    decoded = decode_image(encode(noise(), "PNG"))
    assert (decoded.is_animated, decoded.frame_count, decoded.has_exif) == (False, 1, False)


def test_uploads_pass_the_same_guards_reading_no_more_than_the_cap() -> None:
    data = encode(noise(), "PNG")
    assert decode_stream(io.BytesIO(data)).sha256 == hashlib.sha256(data).hexdigest()

    endless_upload = io.BytesIO(data + bytes(10_000_000))
    with pytest.raises(ImageRejected) as rejected:
        decode_stream(endless_upload, policy=DecodePolicy(max_bytes=1_000_000))
    assert rejected.value.code == "too_large"
    assert endless_upload.tell() == 1_000_001


def test_decoding_in_parallel_threads_gives_the_same_results() -> None:
    images = [encode(noise(seed=seed), kind) for seed in range(4) for kind in ("JPEG", "PNG")]
    one_by_one = [decode_image(data).phash for data in images]

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda data: decode_image(data).phash, images * 4))

    assert together == one_by_one * 4
