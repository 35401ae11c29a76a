"""The shipped ensemble (ml/weights): every member takes every image its scope admits.

A member whose network cannot take its smallest in-scope view crashes the scoring worker (ONNX
Runtime dies of SIGFPE on a zero-sized feature map), so scope and architecture must agree.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ml.ensemble import Ensemble, default_ensemble_path
from ml.member import Member

SHIPPED = default_ensemble_path()
MEMBERS = json.loads((SHIPPED / "ensemble.json").read_text(encoding="utf-8"))["combiner"]["members"]


@pytest.fixture(scope="module")
def ensemble() -> Ensemble:
    return Ensemble.load(SHIPPED, runtime="torch")


def smallest_in_scope_shapes(member: Member) -> list[tuple[int, int]]:
    side = member.pre.min_side
    return [(side, side), (side, side + 9), (side + 9, side)]


@pytest.mark.parametrize("name", [n for n in MEMBERS if n != "face"])
def test_each_member_scores_the_smallest_images_in_its_scope(ensemble, name):
    member = ensemble.member(name)
    images = [
        Image.fromarray(np.random.default_rng(w * h).integers(0, 256, (h, w, 3), dtype=np.uint8))
        for w, h in smallest_in_scope_shapes(member)
    ]
    assert all(member.pre.in_scope(image.size) for image in images)
    logits = member.logits(images)
    assert np.isfinite(logits).all()


def test_images_just_below_a_members_scope_are_left_to_the_others(ensemble):
    inception = ensemble.member("inception_v3")
    tiny = Image.new("RGB", (inception.pre.min_side - 1, 40), (120, 90, 60))
    assert np.isnan(inception.logits([tiny])).all()
    [prediction] = ensemble.predict([tiny])
    assert prediction.model_scores["inception_v3"] is None
    assert prediction.model_scores["resnet50"] is not None
