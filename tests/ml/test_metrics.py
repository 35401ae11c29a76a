"""Metrics against cases computed by hand."""

from __future__ import annotations

import math

import pytest

from ml.metrics import binary_metrics, expected_calibration_error


def test_counts_and_ratios_on_a_hand_made_case():
    # AI = 1. Predictions at 0.5: tp=2 (0.9, 0.6), fn=1 (0.4), fp=1 (0.7), tn=2 (0.1, 0.2)
    labels = [1, 1, 1, 0, 0, 0]
    probabilities = [0.9, 0.6, 0.4, 0.7, 0.1, 0.2]
    m = binary_metrics(labels, probabilities)
    assert m["confusion"] == {"tp": 2, "fp": 1, "tn": 2, "fn": 1}
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # ranking: of 9 (AI, real) pairs, the AI one scores higher in 7 (0.4 < 0.7 and 0.6 < 0.7)
    assert m["roc_auc"] == pytest.approx(7 / 9)
    # AP: precision at each AI hit in rank order 0.9(1/1), 0.6(2/3), 0.4(3/4)
    assert m["average_precision"] == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)


def test_expected_calibration_error_by_hand():
    # bin [0.8, 0.867): confidences 0.8, 0.8 with outcomes 1, 0 -> |0.5 - 0.8| = 0.3, weight 1/2
    # bin [0.2, 0.267): confidences 0.2, 0.2 with outcomes 0, 0 -> |0 - 0.2| = 0.2, weight 1/2
    assert expected_calibration_error([1, 0, 0, 0], [0.8, 0.8, 0.2, 0.2]) == pytest.approx(0.25)


def test_a_perfectly_calibrated_predictor_has_no_calibration_error():
    labels = [1] * 7 + [0] * 3
    assert expected_calibration_error(labels, [0.7] * 10) == pytest.approx(0.0)


def test_one_class_only_leaves_ranking_undefined_rather_than_wrong():
    m = binary_metrics([1, 1], [0.9, 0.2])
    assert math.isnan(m["roc_auc"])
    assert m["recall"] == 0.5
    assert math.isnan(m["specificity"])


def test_roc_points_are_thinned_and_end_at_the_corners() -> None:
    from ml.metrics import roc_points

    labels = [0, 1] * 500
    probabilities = [i / 1000 for i in range(1000)]

    roc = roc_points(labels, probabilities, points=11)

    assert len(roc["fpr"]) == len(roc["tpr"]) <= 11
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert roc_points([1, 1, 1], [0.2, 0.5, 0.9]) == {"fpr": [], "tpr": []}


def test_ece_if_calibrated_is_what_calibrated_models_read_on_that_many_images() -> None:
    import numpy as np

    from ml.metrics import ece_if_calibrated

    rng = np.random.default_rng(0)
    few, many = rng.random(300), rng.random(30_000)
    readings = [
        expected_calibration_error(rng.random(300) < few, few) for _ in range(300)
    ]  # labels drawn from the probabilities themselves: calibrated by construction
    assert ece_if_calibrated(few) == pytest.approx(np.mean(readings), rel=0.1)
    assert 0.05 < ece_if_calibrated(few) < 0.10  # 15 bins of ~20 images each
    assert ece_if_calibrated(many) < ece_if_calibrated(few) / 5
    assert math.isnan(ece_if_calibrated([]))
