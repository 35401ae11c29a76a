"""The verdict's rules: bands, and the three reasons to abstain."""

from __future__ import annotations

import json

from ml.calibration import Combiner
from ml.ensemble import decide

COMBINER = Combiner(
    members=["cnn", "face"],
    temperatures={"cnn": 1.0, "face": 1.0},
    coefficients=[1.0, 0.0, 1.0, 0.0],
    intercept=0.0,
    platt=(1.0, 0.0),
    likely_real_to=0.2,
    likely_ai_from=0.8,
    disagreement=0.7,
)


def test_a_confident_stable_agreeing_verdict_gets_its_band():
    p = decide(COMBINER, 0.93, 0.91, {"cnn": 0.9, "face": 0.95}, spread=0.05)
    assert (p.band, p.abstain_reason, p.face_found) == ("likely_ai", None, True)
    assert any("face" in reason for reason in p.reasons)


def test_middle_probabilities_are_inconclusive_without_abstaining():
    p = decide(COMBINER, 0.5, 0.5, {"cnn": 0.5, "face": None}, spread=0.0)
    assert (p.band, p.abstain_reason, p.face_found) == ("inconclusive", None, False)


def test_no_member_in_scope_abstains():
    p = decide(COMBINER, 0.6, 0.6, {"cnn": None, "face": None}, spread=0.0)
    assert (p.band, p.abstain_reason) == ("inconclusive", "no_model_in_scope")


def test_strong_disagreement_abstains():
    p = decide(COMBINER, 0.85, 0.85, {"cnn": 0.1, "face": 0.95}, spread=0.85)
    assert (p.band, p.abstain_reason) == ("inconclusive", "models_disagree")


def test_a_band_that_flips_under_jpeg_q85_abstains():
    p = decide(COMBINER, 0.85, 0.6, {"cnn": 0.85, "face": None}, spread=0.0)
    assert (p.band, p.abstain_reason) == ("inconclusive", "unstable_under_jpeg")
    assert "0.60" in p.reasons[-1]


def test_predictions_are_json_ready():
    p = decide(COMBINER, 0.1, 0.12, {"cnn": 0.1, "face": None}, spread=0.0)
    encoded = json.loads(json.dumps(p.to_dict()))
    assert encoded["band"] == "likely_real"
    assert encoded["model_scores"] == {"cnn": 0.1, "face": None}
