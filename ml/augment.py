"""Web-delivery augmentation (CNNDetection, Wang et al. 2020: blur + JPEG is what survives the web).

Applied to both classes alike, so that resizing, blur and JPEG or WebP quality carry no label.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageFilter


@dataclass(frozen=True)
class WebAugment:
    """Probabilities and ranges of each degradation; `none()` turns them all off."""

    p_resize: float = 0.3
    resize_range: tuple[float, float] = (0.25, 2.0)
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 100)
    p_flip: float = 0.5
    # After any JPEG step, as a CDN re-encodes a JPEG upload to WebP.
    p_webp: float = 0.0
    webp_quality: tuple[int, int] = (50, 95)

    @classmethod
    def none(cls) -> WebAugment:
        return cls(p_resize=0.0, p_blur=0.0, p_jpeg=0.0, p_flip=0.0, p_webp=0.0)


def jpeg_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    return _roundtrip(image, "JPEG", quality)


def webp_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    """Lossy WebP, as image CDNs and social platforms serve most pictures today."""
    return _roundtrip(image, "WEBP", quality)


def _roundtrip(image: Image.Image, image_format: str, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as reencoded:
        return reencoded.convert("RGB")


def rescale(image: Image.Image, factor: float) -> Image.Image:
    width, height = image.size
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BICUBIC
    return image.resize(size, resample)


def _random_rescale(image: Image.Image, factor: float, keep_at_least: int) -> Image.Image:
    """Resize by `factor`; when that leaves the image smaller than the model's view, scale it back
    to its size, as a platform that serves a downscaled copy upscaled again would."""
    resized = rescale(image, factor)
    if min(resized.size) < keep_at_least:
        return resized.resize(image.size, Image.Resampling.BICUBIC)
    return resized


def augment_for_web(
    image: Image.Image, rng: random.Random, config: WebAugment, keep_at_least: int
) -> Image.Image:
    """Resize, blur, flip, JPEG and WebP re-encode, each with its own probability, in the web's
    order."""
    if rng.random() < config.p_resize:
        image = _random_rescale(image, rng.uniform(*config.resize_range), keep_at_least)
    if rng.random() < config.p_blur:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*config.blur_sigma)))
    if rng.random() < config.p_flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < config.p_jpeg:
        image = jpeg_roundtrip(image, rng.randint(*config.jpeg_quality))
    # Drawn only when asked for, so recipes without WebP keep the random stream they were
    # trained with (same seed, same views as their logged runs).
    if config.p_webp and rng.random() < config.p_webp:
        image = webp_roundtrip(image, rng.randint(*config.webp_quality))
    return image
