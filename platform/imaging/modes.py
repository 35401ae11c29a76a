"""Bring any decoded frame to 8-bit RGB, the one form the detectors see.

- Transparency (RGBA, LA, PA, palette or grey with a transparent colour) is composited on
  white, the background a browser shows most images on.
- CMYK becomes RGB through Pillow (which already undoes Adobe's inverted CMYK in JPEGs).
- 16-bit and 32-bit grey (I;16*, I) and float grey (F) are *scaled* into 0..255: Pillow's own
  conversion would clip every value above 255 to white. 16-bit data keeps its nominal range
  (65535 -> 255); other integers and floats outside 0..1 are stretched from their minimum to
  their maximum.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

_SIXTEEN_BIT_GREY = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_HAS_ALPHA = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WHITE = (255, 255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit RGB version of `image` (the same object when it already is one)."""
    if image.mode == "RGB":
        return image
    if image.mode in _SIXTEEN_BIT_GREY or image.mode in ("I", "F"):
        return Image.fromarray(_grey_to_8_bit(image)).convert("RGB")
    if image.mode in _HAS_ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return image.convert("RGB")


def _grey_to_8_bit(image: Image.Image) -> NDArray[np.uint8]:
    values = np.nan_to_num(np.asarray(image, dtype=np.float64), posinf=0.0, neginf=0.0)
    low, high = float(values.min()), float(values.max())
    if image.mode in _SIXTEEN_BIT_GREY or (image.mode == "I" and low >= 0 and high <= 65535):
        low, high = 0.0, 65535.0  # mode I usually holds 16-bit data too
    elif image.mode == "F" and low >= 0 and high <= 1:
        low, high = 0.0, 1.0  # normalised floats
    span = high - low or 1.0
    scaled = np.rint((values - low) * (255.0 / span))
    return np.clip(scaled, 0, 255).astype(np.uint8)
