"""What each ensemble member is: architecture, preprocessing, training data and recipe.

One place to read why each member sees what it sees (measurements in ml/weights/MODEL_CARD.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ml.augment import WebAugment
from ml.faces import FaceFinder
from ml.preprocess import Preprocessing

IMAGENET_HALF = (0.5, 0.5, 0.5)  # the packaged EfficientNet-Lite0 weights' mean and std


@dataclass(frozen=True)
class Recipe:
    architecture: str
    arch_kwargs: dict[str, Any]
    preprocessing: Preprocessing
    subsets: tuple[str, ...]  # training subsets ("cifake", "faces_140k", "faces_swap", "wild")
    epochs: int
    lr: float
    batch_size: int = 64
    weight_decay: float = 0.05
    optimizer: Literal["adamw", "adam"] = "adamw"
    schedule: Literal["onecycle", "constant"] = "onecycle"
    patience: int = 3
    augment: WebAugment = field(default_factory=WebAugment)
    init_kwargs: dict[str, Any] = field(default_factory=dict)  # only when training from scratch
    subset_repeats: dict[str, float] = field(default_factory=dict)  # draws per epoch, x count
    face_finder: FaceFinder | None = None
    channels_last: bool = False
    # Validate and keep an exponential moving average of the weights (decay per step) rather
    # than the last step's: steadier where a few hundred validation images pick the epoch.
    ema_decay: float | None = None
    # Before every validation, measure batch-norm statistics again on the serving views of this
    # many training images (ml.train.recalibrate_batch_norm); 0 keeps training's running
    # averages. It pays where training's views differ from serving's in kind (the CNN's
    # enlarged crops of 32 px images: validation loss 0.094 -> 0.090); on the shipped trace
    # members and thumbnail it cost (ResNet-50 0.186 -> 0.207, InceptionV3 0.198 -> 0.253,
    # thumbnail 0.063 -> 0.066), their augmented views being what their layers were fit to.
    batch_norm_images: int = 0


ALL_SUBSETS = ("cifake", "faces_140k", "faces_swap", "wild")
# CIFAKE's 32x32 JPEGs are already quality 75 (its quantisation tables): at that size JPEG q30
# and strong blur erase most of what is left, and cost the small CNN two points of validation
# accuracy (94.4% with WebAugment() after 8 epochs), so it trains on a milder mix.
SMALL_IMAGE_AUGMENT = WebAugment(
    p_resize=0.2,
    resize_range=(0.5, 2.0),
    p_blur=0.1,
    blur_sigma=(0.1, 1.0),
    p_jpeg=0.3,
    jpeg_quality=(50, 100),
)
# With JPEG on half its training images the face member still keyed on fine detail that a
# coarser re-encode erases: re-encoding faces 140k validation images (stored as q95 JPEGs, both
# classes) at q75 moved its logits by -1.41 for generated faces and -0.31 for real ones, so fakes
# passed as real (the test split lost 3.8 points of ensemble accuracy). Compressing nearly every
# training image teaches cues that survive: retrained so, -0.42 and -0.18 (ml/README.md).
WEB_IMAGE_AUGMENT = WebAugment(p_jpeg=0.9)
# Draws per epoch (x subset size): CIFAKE is 92% of the images, the web-sized subsets get
# several random crops of each image per epoch instead.
TRACE_REPEATS = {"cifake": 1.0, "faces_140k": 1.5, "faces_swap": 0.5, "wild": 1.5}

RECIPES: dict[str, Recipe] = {
    # The paper's CNN #3 as published: pixels / 255, Adam 1e-3, no augmentation, early stopping
    # with patience 2 on validation loss.
    "cnn_paper": Recipe(
        architecture="cnn_paper",
        arch_kwargs={},
        preprocessing=Preprocessing("resize", 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), min_side=32),
        subsets=("cifake",),
        epochs=30,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        schedule="constant",
        patience=2,
        augment=WebAugment.none(),
    ),
    # CNN #3 improved (batch-norm, double width, web augmentation, one-cycle schedule). A
    # small-image specialist: it sees a 32x32 downscale, so it is in scope only for small images.
    "cnn": Recipe(
        architecture="cnn",
        arch_kwargs={"widths": [32, 64, 128, 256], "dropout": 0.3},
        preprocessing=Preprocessing("resize", 32, min_side=32, max_side=64),
        subsets=("cifake",),
        epochs=14,
        lr=3e-3,
        batch_size=128,
        augment=SMALL_IMAGE_AUGMENT,
        batch_norm_images=4096,
    ),
    # A pretrained small-image specialist: ImageNet features fine-tuned on CIFAKE. Its scope
    # (24-64 px) is far below the size ImageNet features work at, so every image it sees, real
    # or generated, in training and serving, is enlarged to 96 px (bicubic): enlarging is then
    # no cue. Pilots (ml/weights/training/thumbnail_pilots.md): after 250 steps, enlarged to 96
    # px 0.945 validation accuracy; native 32 px through a stride-1 stem 0.914. Five epochs at
    # 128 px beat five at 96: validation 0.9782 (loss 0.063) against 0.9753 (0.070).
    "thumbnail": Recipe(
        architecture="efficientnet_lite0",
        arch_kwargs={"dropout": 0.3},
        init_kwargs={"imagenet_init": True},
        preprocessing=Preprocessing(
            "resize", 128, IMAGENET_HALF, IMAGENET_HALF, min_side=24, max_side=64, upsample=True
        ),
        subsets=("cifake",),
        epochs=5,
        lr=1e-3,
        patience=2,
        augment=SMALL_IMAGE_AUGMENT,
        channels_last=True,
    ),
    # Trace models: native pixels with the NPR residual, never resized for the model. Large
    # images are seen as 8 native 32x32 crops (CIFAKE's size), mean logit. 64x64 crops for
    # ResNet-50 cost four times as much and stayed at chance on web validation after 5 epochs
    # (wild ROC-AUC 0.49-0.66, artifacts/logs/resnet50_web_attempt.log).
    "resnet50": Recipe(
        architecture="resnet50",
        arch_kwargs={"input_mode": "rgb_npr", "stem_maxpool": False},
        preprocessing=Preprocessing("native_crops", 32, num_crops=8, min_side=16),
        subsets=ALL_SUBSETS,
        epochs=7,
        lr=1.5e-3,
        subset_repeats=TRACE_REPEATS,
        channels_last=True,
    ),
    # InceptionV3's valid-padded reductions need 23 px: below that a feature map reaches zero
    # size (PyTorch raises; ONNX Runtime dies of SIGFPE, taking a worker with it).
    "inception_v3": Recipe(
        architecture="inception_v3",
        arch_kwargs={"input_mode": "rgb_npr"},
        preprocessing=Preprocessing("native_crops", 32, num_crops=8, min_side=24),
        subsets=ALL_SUBSETS,
        epochs=7,
        lr=1.5e-3,
        subset_repeats=TRACE_REPEATS,
        channels_last=True,
    ),
    # A pretrained generalist: ImageNet features fine-tuned on web-sized images (not CIFAKE),
    # at 256 px: the face sets' 256x256 images are then seen at their own pixels, and wild
    # images (<= 384) are shrunk less. Fine-tuning the 192 px run at 256 raised validation
    # ROC-AUC on every subset (wild 0.932 -> 0.948; ml/README.md).
    "generalist": Recipe(
        architecture="efficientnet_lite0",
        arch_kwargs={"dropout": 0.3},
        init_kwargs={"imagenet_init": True},
        preprocessing=Preprocessing("resize", 256, IMAGENET_HALF, IMAGENET_HALF, min_side=128),
        subsets=("faces_140k", "faces_swap", "wild"),
        epochs=4,
        lr=5e-4,
        batch_size=32,
        subset_repeats={"faces_swap": 0.5},
        channels_last=True,
    ),
    # The face member: EfficientNet-Lite0 on face crops found by OpenCV's Haar cascade, at 160
    # px (near the size faces have in the data; a smaller view also means less upsampling).
    # Its ~270 validation images with a face pick the epoch: judging the weights' moving
    # average instead of the last step's lowered the best validation loss 0.325 -> 0.302.
    "face": Recipe(
        architecture="efficientnet_lite0",
        arch_kwargs={"dropout": 0.3},
        init_kwargs={"imagenet_init": True},
        preprocessing=Preprocessing("face_crops", 160, IMAGENET_HALF, IMAGENET_HALF, min_side=64),
        subsets=("faces_140k", "faces_swap", "wild"),
        epochs=5,
        lr=5e-4,
        batch_size=32,
        subset_repeats={"faces_140k": 2.0},
        augment=WEB_IMAGE_AUGMENT,
        face_finder=FaceFinder(),
        channels_last=True,
        ema_decay=0.99,
    ),
}
