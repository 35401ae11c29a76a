"""One registry, one factory: every architecture is built by name and scores a batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ml.models import create_detector, list_detectors, register_detector
from ml.recipes import RECIPES


def test_every_recipe_names_a_registered_architecture():
    assert {recipe.architecture for recipe in RECIPES.values()} <= set(list_detectors())


@pytest.mark.parametrize(
    ("name", "side"),
    [
        ("cnn_paper", 32),
        ("cnn", 32),
        ("cnn", 64),
        ("resnet50", 32),
        ("resnet50", 16),
        ("inception_v3", 32),
        ("inception_v3", 48),
        ("efficientnet_lite0", 224),
    ],
)
def test_a_detector_gives_one_logit_per_image(name, side):
    model = create_detector(name).eval()
    with torch.inference_mode():
        logits = model(torch.randn(2, 3, side, side))
    assert logits.shape == (2,)
    assert torch.isfinite(logits).all()


def test_a_stride_1_stem_keeps_resnet50s_feature_maps_twice_as_large():
    feature_sides = {}
    for stride in (1, 2):
        model = create_detector("resnet50", stem_stride=stride).eval()
        layer4 = model.backbone.get_submodule("layer4")
        layer4.register_forward_hook(
            lambda _m, _i, out, s=stride: feature_sides.update({s: out.shape[-1]})
        )
        with torch.inference_mode():
            model(torch.randn(1, 3, 32, 32))
    assert feature_sides == {1: 4, 2: 2}


def test_the_paper_cnn_reproduces_the_documented_layout():
    model = create_detector("cnn_paper")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 128]
    assert sum(p.numel() for p in model.parameters()) == 130_337


def test_unknown_names_list_what_is_registered():
    with pytest.raises(KeyError, match="resnet50"):
        create_detector("resnet5O")


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="twice"):
        register_detector("cnn")(lambda: nn.Identity())


def test_efficientnet_starts_from_the_packaged_imagenet_weights():
    fresh = create_detector("efficientnet_lite0")
    pretrained = create_detector("efficientnet_lite0", imagenet_init=True)
    stem = "backbone.conv_stem.weight"
    assert not torch.equal(fresh.state_dict()[stem], pretrained.state_dict()[stem])
    # ImageNet stems learn colour-opponent edge filters: far from zero-mean noise
    assert pretrained.state_dict()["backbone.bn1.running_var"].mean() > 0.5
