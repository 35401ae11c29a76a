"""Trace models: ResNet-50 and InceptionV3 (timm architectures) trained from scratch on what a
generator leaves behind rather than on what the picture shows.

The input adapter adds NPR (Tan et al., CVPR 2024): the residual between the image and its
nearest-neighbour down-then-up-sampled copy, which exposes the local pixel correlations that
generators' up-sampling layers leave. Stems are adapted for small native-resolution inputs:
- ResNet-50 drops the stem max-pool (total stride 16 instead of 32), so a 32x32 image still
  reaches layer4 at 2x2 (cost about that of the stock network at 64x64). `stem_stride=1` halves
  the total stride again, at four times the FLOPs (tried as a fine-tune: ml/README.md).
- InceptionV3's stem (stride 2 conv, two max-pools, unpadded convs) needs 75x75 at least; with
  its first conv at stride 1 and the second max-pool removed (total stride 8), 32x32 inputs
  reach Mixed_7 at 2x2.
"""

from __future__ import annotations

from typing import Literal

import timm
import torch
from torch import Tensor, nn

from ml.models.registry import register_detector

InputMode = Literal["rgb", "npr", "rgb_npr"]
_CHANNELS = {"rgb": 3, "npr": 3, "rgb_npr": 6}


def npr_residual(x: Tensor) -> Tensor:
    """x minus its nearest-neighbour 2x down-then-up-sampled copy (works for odd sizes)."""
    coarse = x[:, :, ::2, ::2]
    upsampled = coarse.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return x - upsampled[:, :, : x.shape[2], : x.shape[3]]


class TraceDetector(nn.Module):
    def __init__(self, backbone: nn.Module, input_mode: InputMode, npr_gain: float = 4.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.input_mode = input_mode
        self.npr_gain = npr_gain  # the residual is small: scale it to the image's range

    def forward(self, x: Tensor) -> Tensor:
        if self.input_mode == "npr":
            x = npr_residual(x) * self.npr_gain
        elif self.input_mode == "rgb_npr":
            x = torch.cat([x, npr_residual(x) * self.npr_gain], dim=1)
        return self.backbone(x).squeeze(1)

    def target_layer(self) -> nn.Module:
        """The last convolutional stage, for Grad-CAM."""
        name = "layer4" if hasattr(self.backbone, "layer4") else "Mixed_7c"
        layer: nn.Module = self.backbone.get_submodule(name)
        return layer


@register_detector("resnet50")
def resnet50(
    input_mode: InputMode = "rgb_npr", stem_maxpool: bool = False, stem_stride: int = 2
) -> nn.Module:
    backbone = timm.create_model("resnet50", num_classes=1, in_chans=_CHANNELS[input_mode])
    if not stem_maxpool:
        backbone.maxpool = nn.Identity()
    stem = backbone.get_submodule("conv1")
    assert isinstance(stem, nn.Conv2d)
    stem.stride = (stem_stride, stem_stride)
    return TraceDetector(backbone, input_mode)


@register_detector("inception_v3")
def inception_v3(input_mode: InputMode = "rgb_npr") -> nn.Module:
    backbone = timm.create_model("inception_v3", num_classes=1, in_chans=_CHANNELS[input_mode])
    first_conv = backbone.get_submodule("Conv2d_1a_3x3.conv")
    assert isinstance(first_conv, nn.Conv2d)
    first_conv.stride = (1, 1)
    backbone.Pool2 = nn.Identity()
    return TraceDetector(backbone, input_mode)
