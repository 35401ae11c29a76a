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
from ml.faces import Box, FaceFinder
from ml.preprocess import resize_square, serving_views, to_tensor, with_mirror_images
from ml.runtime import (
    BF16_MIN_BATCH,
    Precision,
    Runner,
    Runtime,
    bf16_runner,
    by_batch_size,
    cpu_bf16_unit,
    onnx_runner,
    serving_precision,
    torch_runner,
)

BATCH = 64


class Member:
    def __init__(
        self,
        model: nn.Module,
        config: DetectorConfig,
        runner: Runner | None = None,
        precision: Precision = "fp32",
    ) -> None:
        self.model = model.eval()
        self.runner = runner or torch_runner(self.model)
        self.precision = precision  # what the runner computes in (bf16: for large enough calls)
        self.config = config
        self.pre = config.preprocessing
        settings = config.face_finder
        self.face_finder = FaceFinder(**settings) if settings is not None else None

    @classmethod
    def load(
        cls, directory: Path, name: str, runtime: Runtime = "torch", allow_bf16: bool = False
    ) -> Member:
        """`allow_bf16`: serve in bf16 where `ml.runtime.serving_precision` says it pays (off
        by default: assembling fits the combiner on float32 logits)."""
        model, config = load_checkpoint(directory, name)
        if runtime == "onnx":
            weights = directory / f"{name}.safetensors"
            fp32 = onnx_runner(model, weights, config.preprocessing.input_size)
        else:
            model = model.cuda() if torch.cuda.is_available() else model
            fp32 = torch_runner(model)
        unit = cpu_bf16_unit()
        if unit is not None and serving_precision(config.architecture, allow_bf16, unit) == "bf16":
            runner = by_batch_size(fp32, bf16_runner(model), BF16_MIN_BATCH[unit])
            return cls(model, config, runner, "bf16")
        return cls(model, config, fp32)

    @property
    def name(self) -> str:
        return self.config.member

    def find_faces(self, images: Sequence[Image.Image]) -> list[list[Box]] | None:
        """Face boxes per image for a face member (None for the others): found once, they can
        be reused for a re-encoded copy of the same images."""
        if self.face_finder is None:
            return None
        return [self.face_finder.find(image) for image in images]

    def views(self, image: Image.Image, faces: list[Box] | None = None) -> list[Image.Image]:
        """What the model scores for this image; empty when the image is out of its scope."""
        if not self.pre.in_scope(image.size):
            return []
        if self.pre.policy == "face_crops":
            if self.face_finder is None:
                raise ValueError(f"member {self.name} has face_crops policy but no face finder")
            boxes = self.face_finder.find(image) if faces is None else faces
            side = self.pre.input_size
            crops = [resize_square(self.face_finder.crop(image, box), side) for box in boxes]
            return with_mirror_images(crops, self.pre)
        return serving_views(image, self.pre)

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
                logits[chunk] = self.runner(batch)
        return logits

    def logits(
        self, images: Sequence[Image.Image], faces: Sequence[list[Box]] | None = None
    ) -> np.ndarray:
        """One logit per image: NaN where out of scope. `faces`: boxes from `find_faces`."""
        views_per_image = [
            self.views(image, None if faces is None else faces[i]) for i, image in enumerate(images)
        ]
        flat = [view for views in views_per_image for view in views]
        view_logits = self.view_logits(flat) if flat else np.empty(0, dtype=np.float32)
        result = np.full(len(images), np.nan, dtype=np.float32)
        start = 0
        for index, views in enumerate(views_per_image):
            if views:
                chunk = view_logits[start : start + len(views)]
                if self.pre.mirrored:  # a view and its mirror image are one view: mean logit
                    chunk = chunk.reshape(-1, 2).mean(axis=1)
                # the most suspicious face decides; other views are parts of one picture
                result[index] = chunk.max() if self.pre.policy == "face_crops" else chunk.mean()
                start += len(views)
        return result


def member_logits(
    members: Sequence[Member], images: Sequence[Image.Image]
) -> dict[str, np.ndarray]:
    return {member.name: member.logits(images) for member in members}
