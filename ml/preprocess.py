"""What a model sees of an image: saved with its checkpoint, used alike in training and serving.

Three policies, chosen per model:
- `resize`: centre square crop of the shorter side, downscaled to `input_size` (the CIFAKE CNN,
  the generalist). Small images are never upsampled: they are seen at their own size, unless
  `upsample` is set (a pretrained content model whose whole scope is smaller than its input, so
  every image it sees, real or generated, in training and serving, is enlarged alike).
- `native_crops`: trace models look at pixels as delivered. An image no larger than `input_size`
  is seen whole; a larger one as `num_crops` native-resolution crops whose logits are averaged.
- `face_crops`: the face member's crops (found by `ml.faces`), each resized to `input_size`.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageOps

Policy = Literal["resize", "native_crops", "face_crops"]


@dataclass(frozen=True)
class Preprocessing:
    policy: Policy
    input_size: int
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    num_crops: int = 1  # native_crops: crops per large image at serving (mean logit)
    min_side: int = 16  # shorter side below this: out of scope
    max_side: int | None = None  # longer side above this: out of scope (small-image specialists)
    upsample: bool = False  # resize policy: enlarge smaller images to input_size (bicubic)
    # serving also scores each view mirrored (mean logit): for models trained with flips,
    # whose two readings of one image disagree a little; doubles the member's cost
    mirrored: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Preprocessing:
        return cls(**{**raw, "mean": tuple(raw["mean"]), "std": tuple(raw["std"])})

    def in_scope(self, size: tuple[int, int]) -> bool:
        too_large = self.max_side is not None and max(size) > self.max_side
        return min(size) >= self.min_side and not too_large

    def view_side(self, size: tuple[int, int]) -> int:
        """Side of the square view(s) this policy makes of an image of `size` (never upsampled,
        except face crops, which are always resized to `input_size`)."""
        if self.policy == "face_crops" or self.upsample:
            return self.input_size
        return min(self.input_size, min(size))


def resize_square(image: Image.Image, side: int) -> Image.Image:
    """Square image resized to `side`: area averaging (the anti-aliased downscale), or bicubic
    where it grows (`upsample` policies and small face crops)."""
    if image.size == (side, side):
        return image
    grows = image.width < side
    return image.resize((side, side), Image.Resampling.BICUBIC if grows else Image.Resampling.BOX)


def square_crop(image: Image.Image, left: int, top: int, side: int) -> Image.Image:
    return image.crop((left, top, left + side, top + side))


def centre_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    return square_crop(image, (width - side) // 2, (height - side) // 2, side)


def crop_grid(size: tuple[int, int], side: int, count: int) -> list[tuple[int, int]]:
    """`count` crop corners spread evenly over the image (rows x columns, centre-first for 1)."""
    width, height = size
    if count == 1:
        return [((width - side) // 2, (height - side) // 2)]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)

    def spread(extent: int, parts: int) -> list[int]:
        if parts == 1:
            return [(extent - side) // 2]
        return [round(i * (extent - side) / (parts - 1)) for i in range(parts)]

    corners = [(x, y) for y in spread(height, rows) for x in spread(width, columns)]
    return corners[:count]


def serving_views(image: Image.Image, pre: Preprocessing) -> list[Image.Image]:
    """The square views the model scores for one image (resize and native_crops policies),
    each followed by its mirror image when `pre.mirrored`."""
    side = pre.view_side(image.size)
    if pre.policy == "resize":
        views = [resize_square(centre_square(image), side)]
    elif pre.policy == "native_crops":
        corners = crop_grid(image.size, side, pre.num_crops if side < min(image.size) else 1)
        views = [square_crop(image, left, top, side) for left, top in corners]
    else:
        raise ValueError("face crops come from Member.views, not serving_views")
    return with_mirror_images(views, pre)


def with_mirror_images(views: list[Image.Image], pre: Preprocessing) -> list[Image.Image]:
    """Each view followed by its mirror image when `pre.mirrored` (whatever the policy)."""
    if not pre.mirrored:
        return views
    return [shown for view in views for shown in (view, ImageOps.mirror(view))]


def training_view(
    image: Image.Image, pre: Preprocessing, side: int, rng: random.Random
) -> Image.Image:
    """One random view of side `side` (from `view_side` of the image before augmentation)."""
    width, height = image.size
    if pre.policy == "native_crops":
        return square_crop(image, rng.randint(0, width - side), rng.randint(0, height - side), side)
    # resize and face_crops: a random square of 70-100% of the shorter side, then to `side`;
    # none smaller than `side` where serving never enlarges: enlarged crops of 32 px CIFAKE
    # images trained the CNN worse than the images as they are (8 epochs on the CPU: validation
    # loss 0.139 against 0.120, accuracy 0.949 against 0.954) and skewed its batch-norm
    # statistics (ml/README.md)
    crop = max(1, round(min(width, height) * rng.uniform(0.7, 1.0)))
    if pre.policy == "resize" and not pre.upsample:
        crop = max(crop, min(side, width, height))
    left, top = rng.randint(0, width - crop), rng.randint(0, height - crop)
    return resize_square(square_crop(image, left, top, crop), side)


def to_tensor(views: list[Image.Image], pre: Preprocessing) -> torch.Tensor:
    """Equal-sized RGB views to a normalised, contiguous float32 NCHW batch.

    One fused multiply-add in NumPy: the earlier chain of torch ops on a permuted uint8 view
    took 32 ms per 64 views of 96 px (1.8 ms now), 12% of the ensemble's time on a CIFAKE batch."""
    pixels = np.stack([np.asarray(view.convert("RGB"), dtype=np.uint8) for view in views])
    std = np.asarray(pre.std, dtype=np.float32).reshape(1, 3, 1, 1)
    mean = np.asarray(pre.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    batch = np.empty((len(views), 3, *pixels.shape[1:3]), dtype=np.float32)
    np.multiply(pixels.transpose(0, 3, 1, 2), 1.0 / (255.0 * std), out=batch, casting="unsafe")
    batch -= mean / std
    return torch.from_numpy(batch)
