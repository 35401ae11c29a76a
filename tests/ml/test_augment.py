"""Web-delivery augmentation: each step does what it says, and adding WebP changed no old recipe."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from ml.augment import WebAugment, augment_for_web, webp_roundtrip
from tests.ml.conftest import photo_like

ONLY_WEBP = WebAugment(p_resize=0.0, p_blur=0.0, p_jpeg=0.0, p_flip=0.0, p_webp=1.0)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_no_augmentation_leaves_the_image_as_it_was():
    image = photo_like(64, 48, seed=1)
    augmented = augment_for_web(image, random.Random(0), WebAugment.none(), keep_at_least=32)
    assert np.array_equal(pixels(augmented), pixels(image))


def test_the_webp_step_re_encodes_at_a_quality_from_its_range():
    image = photo_like(64, 48, seed=2)
    augmented = pixels(augment_for_web(image, random.Random(3), ONLY_WEBP, keep_at_least=32))
    assert not np.array_equal(augmented, pixels(image))
    low, high = ONLY_WEBP.webp_quality
    matches = [
        quality
        for quality in range(low, high + 1)
        if np.array_equal(augmented, pixels(webp_roundtrip(image, quality)))
    ]
    assert matches, "the result is a WebP re-encode within the configured qualities"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_recipe_without_webp_draws_the_random_numbers_it_always_drew(seed):
    """Recipes logged before WebP existed must give the same views from the same seed: without
    WebP the step draws nothing (resize, blur, flip and JPEG draw one number each here)."""
    config = WebAugment(p_resize=0.0, p_blur=0.0, p_jpeg=0.0, p_flip=0.0)
    rng, reference = random.Random(seed), random.Random(seed)
    augment_for_web(photo_like(32, 32, seed=seed), rng, config, keep_at_least=32)
    for _ in range(4):
        reference.random()
    assert rng.getstate() == reference.getstate()
