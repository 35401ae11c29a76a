"""Calibration, stacking and bands on synthetic scores whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from ml.calibration import (
    band_thresholds,
    fit_combiner,
    fit_temperature,
    sigmoid,
)
from ml.metrics import expected_calibration_error


def _overconfident(n: int, temperature: float, seed: int = 0):
    """Labels drawn from sigmoid(z); the model reports z * temperature (overconfident)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, n)
    labels = (rng.random(n) < sigmoid(z)).astype(int)
    return z * temperature, labels


def test_temperature_scaling_recovers_the_true_temperature():
    logits, labels = _overconfident(20000, temperature=3.0)
    assert fit_temperature(logits, labels) == pytest.approx(3.0, rel=0.08)


def test_the_combiner_is_calibrated_on_held_out_synthetic_scores():
    logits, labels = _overconfident(6000, temperature=4.0, seed=1)
    other, _ = _overconfident(6000, temperature=1.0, seed=2)  # an uninformative member
    fit_rows, held = slice(0, 3000), slice(3000, None)
    combiner = fit_combiner(
        {"a": logits[fit_rows], "b": other[fit_rows]}, labels[fit_rows], np.ones(3000)
    )
    probability = combiner.probability({"a": logits[held], "b": other[held]})
    assert expected_calibration_error(labels[held], probability) < 0.03
    assert combiner.temperatures["a"] == pytest.approx(4.0, rel=0.15)
    # the informative member moves the verdict (a raw 8 is a true 2: P 0.88), the other hardly
    base = {"a": np.array([0.0]), "b": np.array([0.0])}
    moved_by_a = combiner.probability({**base, "a": np.array([8.0])}) - combiner.probability(base)
    moved_by_b = combiner.probability({**base, "b": np.array([8.0])}) - combiner.probability(base)
    assert moved_by_a > 0.3 and abs(moved_by_b) < 0.05


def test_out_of_scope_members_contribute_nothing():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 4000)
    good = np.where(labels == 1, 3.0, -3.0) + rng.normal(0, 1, 4000)
    face = np.where(labels == 1, 2.0, -2.0) + rng.normal(0, 1, 4000)
    face[rng.random(4000) < 0.7] = np.nan  # no face in most images
    combiner = fit_combiner({"good": good, "face": face}, labels, np.ones(4000))
    without_face = combiner.probability({"good": np.array([2.0]), "face": np.array([np.nan])})
    other_face = combiner.probability({"good": np.array([2.0]), "face": np.array([np.nan])})
    assert without_face == other_face
    with_ai_face = combiner.probability({"good": np.array([2.0]), "face": np.array([3.0])})
    assert with_ai_face > without_face


def test_band_thresholds_give_the_target_precision():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 5000)
    probability = np.clip(labels * 0.3 + rng.random(5000) * 0.7, 0, 1)
    real_to, ai_from = band_thresholds(probability, labels, np.ones(5000), 0.95)
    assert 0.5 <= ai_from < 1.0
    assert labels[probability >= ai_from].mean() >= 0.95
    assert 0.0 < real_to <= 0.5
    assert 1 - labels[probability <= real_to].mean() >= 0.95
    # and the bands are as wide as the target allows: a bit lower would miss it
    looser = probability >= ai_from - 0.05
    assert labels[looser].mean() < 0.95


def test_every_subset_gets_bands_at_the_target_precision():
    rng = np.random.default_rng(5)
    easy_labels, hard_labels = rng.integers(0, 2, 4000), rng.integers(0, 2, 400)
    easy = np.clip(easy_labels * 0.6 + rng.random(4000) * 0.4, 0, 1)
    hard = np.clip(hard_labels * 0.2 + rng.random(400) * 0.8, 0, 1)
    probability = np.concatenate([easy, hard])
    labels = np.concatenate([easy_labels, hard_labels])
    groups = np.array(["easy"] * 4000 + ["hard"] * 400)
    _, pooled_ai_from = band_thresholds(probability, labels, np.ones(4400), 0.95)
    assert hard_labels[hard >= pooled_ai_from].mean() < 0.95  # the easy subset carries it
    _, ai_from = band_thresholds(probability, labels, np.ones(4400), 0.95, groups=groups)
    assert ai_from > pooled_ai_from
    assert hard_labels[hard >= ai_from].mean() >= 0.95
    assert easy_labels[easy >= ai_from].mean() >= 0.95


def test_no_likely_ai_band_when_no_threshold_reaches_the_target():
    labels = np.array([1, 0] * 100)
    probability = np.full(200, 0.6)
    _, ai_from = band_thresholds(probability, labels, np.ones(200), 0.95)
    assert ai_from > 1.0
