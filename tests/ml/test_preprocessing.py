"""What a model sees: saved with the checkpoint, identical in training and serving."""

from __future__ import annotations

import io
import random
from dataclasses import replace

import numpy as np
import torch
from PIL import Image, ImageOps

from ml.checkpoint import DetectorConfig, load_checkpoint, save_checkpoint
from ml.data import Sample
from ml.member import Member
from ml.models import create_detector
from ml.policies import REENCODINGS, reencode_sensitivity
from ml.preprocess import Preprocessing, crop_grid, serving_views, to_tensor, training_view
from tests.ml.conftest import photo_like


def test_the_saved_config_is_the_serving_config(tmp_path):
    pre = Preprocessing(
        "native_crops",
        64,
        (0.1, 0.2, 0.3),
        (0.4, 0.5, 0.6),
        num_crops=4,
        min_side=16,
        max_side=None,
    )
    config = DetectorConfig("resnet50", "resnet50", {"input_mode": "npr"}, pre)
    model = create_detector("resnet50", input_mode="npr").eval()
    save_checkpoint(tmp_path, model, config, card="card")
    loaded_model, loaded = load_checkpoint(tmp_path, "resnet50")
    assert loaded.preprocessing == pre
    assert loaded.arch_kwargs == {"input_mode": "npr"}
    batch = to_tensor([photo_like(32, 32)], pre)
    with torch.inference_mode():
        assert torch.allclose(model(batch), loaded_model(batch))


def test_float16_checkpoints_load_back_as_float32_models(tmp_path):
    pre = Preprocessing("resize", 32)
    model = create_detector("cnn").eval()
    save_checkpoint(
        tmp_path, model, DetectorConfig("cnn", "cnn", {}, pre), "card", dtype=torch.float16
    )
    loaded, _ = load_checkpoint(tmp_path, "cnn")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    batch = to_tensor([photo_like(32, 32)], pre)
    with torch.inference_mode():
        assert torch.allclose(model(batch), loaded(batch), atol=1e-2)


def test_to_tensor_normalises_each_channel_into_a_contiguous_nchw_batch():
    pre = Preprocessing("resize", 32, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    views = [photo_like(32, 32), photo_like(32, 32)]
    batch = to_tensor(views, pre)
    assert batch.shape == (2, 3, 32, 32) and batch.dtype == torch.float32
    assert batch.is_contiguous()
    pixel = views[1].getpixel((5, 7))  # (x, y) -> batch[1, :, y, x]
    expected = [(pixel[c] / 255 - pre.mean[c]) / pre.std[c] for c in range(3)]
    assert torch.allclose(batch[1, :, 7, 5], torch.tensor(expected), atol=1e-6)


def test_resize_policy_downscales_but_never_upsamples():
    pre = Preprocessing("resize", 32, min_side=16)
    assert [v.size for v in serving_views(photo_like(300, 200), pre)] == [(32, 32)]
    assert [v.size for v in serving_views(photo_like(24, 30), pre)] == [(24, 24)]


def test_an_upsample_policy_enlarges_small_images_alike_in_training_and_serving():
    pre = Preprocessing("resize", 96, min_side=24, max_side=64, upsample=True)
    assert pre.view_side((32, 32)) == 96
    assert [v.size for v in serving_views(photo_like(32, 40), pre)] == [(96, 96)]
    view = training_view(photo_like(32, 32), pre, pre.view_side((32, 32)), random.Random(0))
    assert view.size == (96, 96)
    # enlarged smoothly (bicubic), not as blocks of repeated pixels
    assert len(set(view.get_flattened_data())) > 4 * 32 * 32 * 0.9


def test_mirrored_serving_scores_each_view_and_its_mirror_image():
    image = photo_like(300, 200)
    pre = Preprocessing("resize", 32, min_side=16, mirrored=True)
    plain, mirror = serving_views(image, pre)
    assert plain.tobytes() == serving_views(image, replace(pre, mirrored=False))[0].tobytes()
    assert mirror.tobytes() == ImageOps.mirror(plain).tobytes()
    crops = Preprocessing("native_crops", 64, num_crops=4, mirrored=True)
    assert len(serving_views(image, crops)) == 8


class LeftMinusRight(torch.nn.Module):
    """A logit that mirroring negates: the left half's brightness minus the right half's."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        left, right = x[..., :half].mean(dim=(1, 2, 3)), x[..., half:].mean(dim=(1, 2, 3))
        return self.scale * (left - right)


def test_mirrored_face_crops_average_each_face_with_its_mirror_image():
    image = Image.new("RGB", (200, 200), "white")
    image.paste((0, 0, 0), (100, 0, 200, 200))  # bright left, dark right: a lopsided "face"
    faces = [(20, 20, 60, 60), (90, 90, 80, 80)]
    pre = Preprocessing("face_crops", 64, min_side=64)
    config = DetectorConfig("face", "cnn", {}, pre, face_finder={"min_face": 32})
    plain = Member(LeftMinusRight(), config)
    mirrored = Member(LeftMinusRight(), replace(config, preprocessing=replace(pre, mirrored=True)))
    assert len(mirrored.views(image, faces)) == 2 * len(plain.views(image, faces)) == 4
    assert plain.logits([image], [faces])[0] > 0.1  # the face crop that straddles both halves
    assert abs(mirrored.logits([image], [faces])[0]) < 1e-6  # each face's pair cancels out


def test_configs_saved_before_mirroring_existed_load_unmirrored():
    saved = Preprocessing("resize", 96, mirrored=True).to_dict()
    assert Preprocessing.from_dict(saved).mirrored
    del saved["mirrored"]
    assert not Preprocessing.from_dict(saved).mirrored


def test_native_crops_keep_pixels_as_delivered():
    pre = Preprocessing("native_crops", 64, num_crops=4)
    image = photo_like(384, 321)
    views = serving_views(image, pre)
    assert [v.size for v in views] == [(64, 64)] * 4
    corners = crop_grid(image.size, 64, 4)
    assert corners == [(0, 0), (320, 0), (0, 257), (320, 257)]
    assert views[3].tobytes() == image.crop((320, 257, 384, 321)).tobytes()


def test_small_images_are_seen_whole_by_crop_models():
    pre = Preprocessing("native_crops", 64, num_crops=4)
    image = photo_like(32, 32)
    (view,) = serving_views(image, pre)
    assert view.tobytes() == image.tobytes()


def test_training_views_have_the_serving_size():
    rng = random.Random(0)
    for pre, size, side in [
        (Preprocessing("native_crops", 64), (384, 321), 64),
        (Preprocessing("native_crops", 64), (32, 32), 32),
        (Preprocessing("resize", 224), (384, 384), 224),
    ]:
        assert pre.view_side(size) == side
        assert training_view(photo_like(*size), pre, side, rng).size == (side, side)


def test_training_never_enlarges_what_serving_never_enlarges():
    rng = random.Random(0)
    cnn = Preprocessing("resize", 32, min_side=32, max_side=64)
    small = photo_like(32, 32)
    for _ in range(20):  # a 32 px image is seen whole, as serving sees it
        assert training_view(small, cnn, 32, rng).tobytes() == small.tobytes()
    larger = photo_like(64, 64)  # still cropped at random, then downscaled
    views = {training_view(larger, cnn, 32, rng).tobytes() for _ in range(10)}
    assert len(views) > 1 and all(len(view) == 32 * 32 * 3 for view in views)


def test_scope_follows_the_preprocessing():
    cnn = Member(
        create_detector("cnn"),
        DetectorConfig("cnn", "cnn", {}, Preprocessing("resize", 32, min_side=32, max_side=64)),
    )
    logits = cnn.logits([photo_like(32, 32), photo_like(500, 400), photo_like(20, 20)])
    assert not torch.isnan(torch.tensor(logits[0]))
    assert torch.isnan(torch.tensor(logits[1:])).all()


def test_policy_comparison_covers_crops_downscale_and_mirroring():
    from ml.policies import variants

    crops = variants(Preprocessing("native_crops", 64, num_crops=8))
    assert [v.num_crops for v in crops.values()][:4] == [1, 4, 8, 16]
    assert crops["downscale to 64"].policy == "resize"
    resized = variants(Preprocessing("resize", 224))
    assert {v.policy for v in resized.values()} == {"resize", "native_crops"}
    assert [v.mirrored for v in resized.values()] == [False, False, False, True]
    faces = variants(Preprocessing("face_crops", 160))
    assert [v.mirrored for v in faces.values()] == [False, True]


class GrainMeter(torch.nn.Module):
    """A shortcut detector: calls an image generated when it has fine grain (pixel-to-pixel
    differences), which JPEG removes."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(40.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grain = (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2, 3))
        return self.scale * grain - 2.0


def test_reencode_sensitivity_exposes_a_pristine_means_generated_shortcut():
    def grainy(seed: int) -> Image.Image:
        base = np.asarray(photo_like(64, 64, seed), dtype=np.int16)
        noise = np.random.default_rng(seed).integers(-12, 13, size=base.shape)
        return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))

    def stored(image: Image.Image, fmt: str) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **({"quality": 60} if fmt == "JPEG" else {}))
        return buffer.getvalue()

    # generated images arrive pristine (PNG), real photos already compressed (JPEG q60)
    samples = [
        Sample(stored(grainy(i), "PNG" if label else "JPEG"), label, "wild", "val", f"{i}", "", "")
        for i, label in enumerate([1, 0] * 6)
    ]
    member = Member(
        GrainMeter(),
        DetectorConfig("grain", "cnn", {}, Preprocessing("resize", 64, min_side=16)),
    )
    assert set(REENCODINGS) == {"JPEG q75", "WebP q75"}
    for name, reencode in REENCODINGS.items():
        report = reencode_sensitivity(member, samples, reencode)["wild"]
        assert report["n"] == 12
        assert report["roc_auc"] == 1.0  # the shortcut separates the stored files perfectly
        # a re-encode wipes the pristine look: generated images fall far towards "real"
        assert report["logit_shift_ai"] < 2 * min(report["logit_shift_real"], -0.1), name


def test_each_degradation_does_what_its_name_says():
    from ml.evaluate import DEGRADATIONS

    image = photo_like(200, 120, seed=3)
    sizes = {name: degrade(image).size for name, degrade in DEGRADATIONS.items()}
    assert sizes == {
        "original": (200, 120),
        "jpeg_q90": (200, 120),
        "jpeg_q75": (200, 120),
        "jpeg_q50": (200, 120),
        "webp_q75": (200, 120),
        "resize_0.5x": (100, 60),
        "centre_crop_50": (100, 60),
        "screenshot_1.25x": (250, 150),
        "upscale_2x": (400, 240),
    }
    pixels = {
        name: np.asarray(degrade(image), dtype=float) for name, degrade in DEGRADATIONS.items()
    }
    original = np.asarray(image, dtype=float)
    loss = {q: np.abs(pixels[f"jpeg_q{q}"] - original).mean() for q in (90, 75, 50)}
    assert 0 < loss[90] < loss[75] < loss[50], "coarser quality, more changed"
    centre = original[30:90, 50:150]
    assert np.array_equal(pixels["centre_crop_50"], centre)
    webp_loss = np.abs(pixels["webp_q75"] - original).mean()
    assert webp_loss > 0 and not np.array_equal(pixels["webp_q75"], pixels["jpeg_q75"])
