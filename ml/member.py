"""One trained detector in serving form: its model, its preprocessing and its scope.

`Member.logits(images)` gives one logit per image (NaN where the member is out of scope): the
mean over native crops, or the highest over faces (one fake face makes the picture a fake).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ml.checkpoint import DetectorConfig, load_checkpoint
from ml.faces import FaceFinder
from ml.preprocess import serving_views, to_tensor

BATCH = 64


def face_views(image: Image.Image, finder: FaceFinder, side: int) -> list[Image.Image]:
    return [resize_square(crop, side) for crop in finder.crops(image)]


def resize_square(image: Image.Image, side: int) -> Image.Image:
    smaller = max(image.size) >= side
    return image.resize((side, side), Image.Resampling.BOX if smaller else Image.Resampling.BICUBIC)


class Member:
    def __init__(self, model: nn.Module, config: DetectorConfig) -> None:
        self.model = model.eval()
        self.config = config
        self.pre = config.preprocessing
        settings = config.face_finder
        self.face_finder = FaceFinder(**settings) if settings is not None else None

    @classmethod
    def load(cls, directory: Path, name: str) -> Member:
        model, config = load_checkpoint(directory, name)
        return cls(model, config)

    @property
    def name(self) -> str:
        return self.config.member

    def views(self, image: Image.Image) -> list[Image.Image]:
        """What the model scores for this image; empty when the image is out of its scope."""
        if not self.pre.in_scope(image.size):
            return []
        if self.pre.policy == "face_crops":
            if self.face_finder is None:
                raise ValueError(f"member {self.name} has face_crops policy but no face finder")
            return face_views(image, self.face_finder, self.pre.input_size)
        return serving_views(image, self.pre)

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(batch).float()

    def view_logits(self, views: Sequence[Image.Image]) -> np.ndarray:
        """Logits of equal-or-mixed-size views, batched by size."""
        by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, view in enumerate(views):
            by_size[view.size].append(index)
        logits = np.empty(len(views), dtype=np.float32)
        for indices in by_size.values():
            for start in range(0, len(indices), BATCH):
                chunk = indices[start : start + BATCH]
                batch = to_tensor([views[i] for i in chunk], self.pre)
                logits[chunk] = self._run(batch).numpy()
        return logits

    def logits(self, images: Sequence[Image.Image]) -> np.ndarray:
        """One logit per image: NaN where out of scope."""
        views_per_image = [self.views(image) for image in images]
        flat = [view for views in views_per_image for view in views]
        view_logits = self.view_logits(flat) if flat else np.empty(0, dtype=np.float32)
        result = np.full(len(images), np.nan, dtype=np.float32)
        start = 0
        for index, views in enumerate(views_per_image):
            if views:
                chunk = view_logits[start : start + len(views)]
                result[index] = chunk.max() if self.pre.policy == "face_crops" else chunk.mean()
                start += len(views)
        return result


def member_logits(
    members: Sequence[Member], images: Sequence[Image.Image]
) -> dict[str, np.ndarray]:
    return {member.name: member.logits(images) for member in members}
