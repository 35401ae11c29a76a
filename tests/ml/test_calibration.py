"""Calibration, stacking and bands on synthetic scores whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from ml.calibration import (
    band_thresholds,
    bands_out_of_fold,
    fit_combiner,
    fit_temperature,
    lowest_threshold,
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


def _calibrated(n: int, spread: float, rng: np.random.Generator):
    """Scores that mean what they say: label ~ Bernoulli(score)."""
    scores = sigmoid(rng.normal(0, spread, n))
    return scores, (rng.random(n) < scores).astype(int)


def test_subset_thresholds_hold_on_fresh_samples_from_the_same_subset():
    """Fit on 2,000 easy and 200 hard samples, as on validation; judge the band on 400,000
    fresh hard ones. The lowest crossing of the hard subset's noisy precision curve is an
    optimistic pick: taken as it is, the band falls short of the target most of the time."""
    rng = np.random.default_rng(6)
    fresh, fresh_labels = _calibrated(400_000, 2.0, rng)
    true_precision: dict[float, list[float]] = {0.0: [], 1.0: []}
    for _ in range(40):
        easy, easy_labels = _calibrated(2000, 6.0, rng)
        hard, hard_labels = _calibrated(200, 2.0, rng)
        scores = np.concatenate([easy, hard])
        labels = np.concatenate([easy_labels, hard_labels])
        groups = np.array(["easy"] * 2000 + ["hard"] * 200)
        for standard_errors, found in true_precision.items():
            t = lowest_threshold(
                scores, labels, np.ones(2200), 0.95, 30, groups, standard_errors=standard_errors
            )
            assert t is not None
            found.append(fresh_labels[fresh >= t].mean())
    assert np.median(true_precision[0.0]) < 0.95 <= np.median(true_precision[1.0])
    held = {k: np.mean(np.array(v) >= 0.95) for k, v in true_precision.items()}
    assert held[1.0] >= 2 * held[0.0]


def test_a_small_subset_with_a_confident_false_accusation_raises_the_band():
    rng = np.random.default_rng(7)
    easy_labels = rng.integers(0, 2, 4000)
    easy = np.clip(easy_labels * 0.6 + rng.random(4000) * 0.4, 0, 1)
    small, small_labels = np.array([0.99, 0.98, 0.97, 0.96, 0.95]), np.array([0, 1, 1, 1, 1])
    scores = np.concatenate([easy, small])
    labels = np.concatenate([easy_labels, small_labels])
    groups = np.array(["easy"] * 4000 + ["small"] * 5)
    _, pooled = band_thresholds(scores, labels, np.ones(4005), 0.95)
    _, per_subset = band_thresholds(scores, labels, np.ones(4005), 0.95, groups=groups)
    assert pooled < 0.95  # one accusation among 4,000 samples changes nothing...
    assert per_subset > 0.99  # ...but it is one in five of its subset


def test_bands_out_of_fold_report_each_subsets_precision_on_images_the_thresholds_never_saw():
    rng = np.random.default_rng(8)
    easy, easy_labels = _calibrated(3000, 6.0, rng)
    hard, hard_labels = _calibrated(400, 2.0, rng)
    logits = {"member": np.log(np.concatenate([easy, hard]) / (1 - np.concatenate([easy, hard])))}
    labels = np.concatenate([easy_labels, hard_labels])
    groups = np.array(["easy"] * 3000 + ["hard"] * 400)
    report = bands_out_of_fold(logits, labels, np.ones(3400), groups, repeats=2)
    assert set(report) == {"easy", "hard"}
    assert report["easy"]["likely_ai_precision"] >= 0.95
    assert report["hard"]["likely_ai_precision"] >= 0.9
    assert report["easy"]["decisive"] > report["hard"]["decisive"] > 0.0


def test_out_of_fold_the_disagreement_rule_takes_the_calls_a_wild_member_got_wrong():
    """Two members that now and then err wildly (heavy-tailed noise): where they quarrel, the
    combined call is often wrong, so the rule should take calls wrong far more often than
    those it leaves."""
    rng = np.random.default_rng(10)
    z = rng.normal(0, 4, 4000)
    labels = (rng.random(4000) < sigmoid(z)).astype(int)
    logits = {name: z + np.clip(rng.standard_t(2, 4000) * 1.5, -12, 12) for name in "ab"}
    report = bands_out_of_fold(logits, labels, np.ones(4000), np.array(["one"] * 4000), repeats=2)
    one = report["one"]
    assert 0.0 < one["taken_by_disagreement"] <= 0.05
    assert one["wrong_among_taken"] > 5 * one["wrong_among_kept"]
    assert one["wrong_among_kept"] < 0.05


def test_bands_out_of_fold_need_two_images_of_every_subset():
    rng = np.random.default_rng(9)
    scores, labels = _calibrated(300, 3.0, rng)
    logits = {"member": np.log(scores / (1 - scores))}
    groups = np.array(["big"] * 299 + ["lone"])
    assert bands_out_of_fold(logits, labels, np.ones(300), groups) == {}
    groups = np.array(["big"] * 297 + ["three"] * 3)  # three folds then
    assert set(bands_out_of_fold(logits, labels, np.ones(300), groups, repeats=1)) == {
        "big",
        "three",
    }
