"""Finding faces for the face member: OpenCV's Haar cascade, which ships inside the
`opencv-python-headless` wheel (no download), then square crops with a margin."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]  # left, top, width, height in the original image


@lru_cache(maxsize=4)
def _cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise FileNotFoundError(f"OpenCV face cascade {path} is missing from the installed wheel")
    return classifier


@dataclass(frozen=True)
class FaceFinder:
    cascade: str = "haarcascade_frontalface_default.xml"
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face: int = 64  # smaller faces (in original pixels) are out of scope
    detect_side: int = 640  # detection runs on a copy no larger than this
    pad_fraction: float = 0.25  # border so that a face filling the whole frame is still found
    margin: float = 0.3  # crop margin on each side, as a fraction of the face box
    max_faces: int = 3  # the largest ones

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def find(self, image: Image.Image) -> list[Box]:
        """Faces at least `min_face` pixels wide, largest first."""
        scale = min(1.0, self.detect_side / max(image.size))
        gray = np.asarray(image.convert("L"))
        if scale < 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        pad = round(self.pad_fraction * min(gray.shape))
        padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        found = _cascade(self.cascade).detectMultiScale(
            padded,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(max(1, round(self.min_face * scale)),) * 2,
        )
        boxes = [
            (round((x - pad) / scale), round((y - pad) / scale), round(w / scale), round(h / scale))
            for x, y, w, h in np.asarray(found, dtype=float).reshape(-1, 4)
        ]
        boxes.sort(key=lambda box: box[2] * box[3], reverse=True)
        return boxes[: self.max_faces]

    def crop(self, image: Image.Image, box: Box) -> Image.Image:
        """A square around the face with `margin` on each side, shrunk to fit inside the image."""
        left, top, width, height = box
        centre_x, centre_y = left + width / 2, top + height / 2
        side = max(width, height) * (1 + 2 * self.margin)
        half = min(side / 2, centre_x, centre_y, image.width - centre_x, image.height - centre_y)
        half = max(half, min(width, height) / 2)
        left_edge, top_edge = round(centre_x - half), round(centre_y - half)
        side_px = round(2 * half)
        return image.crop((left_edge, top_edge, left_edge + side_px, top_edge + side_px))
