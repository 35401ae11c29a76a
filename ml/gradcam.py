"""Grad-CAM (Selvaraju et al., 2017) for the CNN members: where in the image the evidence for
"AI-generated" lies, as a heatmap over the view the model saw, returned as PNG bytes."""

from __future__ import annotations

import io

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image
from torch import nn

from ml.member import Member
from ml.preprocess import centre_square, to_tensor

DISPLAY_SIDE = 256  # heatmaps of small views are enlarged for people to see
MAX_NATIVE_SIDE = 512  # trace models explain at most a centre crop this large


def explained_view(member: Member, image: Image.Image) -> Image.Image:
    """The single view Grad-CAM runs on: the member's own view, or for native-crop members the
    whole image at native resolution (capped), since they are fully convolutional."""
    if member.pre.policy == "native_crops":
        square = centre_square(image)
        if square.width > MAX_NATIVE_SIDE:
            offset = (square.width - MAX_NATIVE_SIDE) // 2
            square = square.crop(
                (offset, offset, offset + MAX_NATIVE_SIDE, offset + MAX_NATIVE_SIDE)
            )
        return square
    views = member.views(image)
    if not views:
        raise ValueError(f"member {member.name} is out of scope for this image: nothing to explain")
    return views[0]


def target_layer(model: nn.Module) -> nn.Module:
    finder = getattr(model, "target_layer", None)
    if finder is None:
        raise TypeError(f"{type(model).__name__} names no Grad-CAM target layer")
    layer: nn.Module = finder()
    return layer


def gradcam(model: nn.Module, layer: nn.Module, batch: torch.Tensor) -> np.ndarray:
    """Heatmap in [0, 1] at the layer's resolution for the first image of the batch."""
    captured: dict[str, torch.Tensor] = {}
    handle = layer.register_forward_hook(lambda _m, _i, output: captured.update(a=output))
    try:
        with torch.enable_grad():
            logit = model(batch)[0]
            activations = captured["a"]
            (gradients,) = torch.autograd.grad(logit, activations)
    finally:
        handle.remove()
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activations).sum(dim=1))[0].detach()
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).numpy()


def overlay_png(view: Image.Image, heatmap: np.ndarray) -> bytes:
    side = max(DISPLAY_SIDE, view.width)
    base = view.convert("RGB").resize((side, side), Image.Resampling.NEAREST)
    heat = Image.fromarray(np.uint8(heatmap * 255)).resize((side, side), Image.Resampling.BILINEAR)
    coloured = colormaps["jet"](np.asarray(heat) / 255.0)[..., :3]
    blended = 0.55 * np.asarray(base) / 255.0 + 0.45 * coloured
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(blended * 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def gradcam_png(member: Member, image: Image.Image) -> bytes:
    view = explained_view(member, image)
    batch = to_tensor([view], member.pre)
    return overlay_png(view, gradcam(member.model, target_layer(member.model), batch))
