"""Which precision each member serves in, and that bf16 scores as float32 does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.ensemble import Ensemble, default_ensemble_path
from ml.preprocess import to_tensor
from ml.runtime import (
    BF16_MIN_BATCH,
    bf16_allowed,
    bf16_runner,
    by_batch_size,
    cpu_bf16_unit,
    serving_precision,
)
from tests.ml.conftest import photo_like

SAPPHIRE_RAPIDS_FLAGS = "flags\t\t: fpu vme avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
ZEN4_FLAGS = "flags\t\t: fpu vme avx2 avx512f avx512_bf16 avx512_vnni\n"
ZEN3_FLAGS = "flags\t\t: fpu vme avx2 fma sha_ni\n"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(SAPPHIRE_RAPIDS_FLAGS, "amx_bf16"), (ZEN4_FLAGS, "avx512_bf16"), (ZEN3_FLAGS, None)],
)
def test_the_fastest_bf16_unit_is_read_from_the_cpus_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: some CPU\n{flags}", encoding="utf-8")
    assert cpu_bf16_unit(cpuinfo) == expected
    assert cpu_bf16_unit(tmp_path / "absent") is None  # not Linux: float32


@pytest.mark.parametrize("unit", ["amx_bf16", "avx512_bf16"])
def test_only_dense_convolution_members_on_a_bf16_cpu_serve_in_bf16(unit):
    assert serving_precision("resnet50", allow_bf16=True, unit=unit) == "bf16"
    assert serving_precision("inception_v3", allow_bf16=True, unit=unit) == "bf16"
    assert serving_precision("efficientnet_lite0", allow_bf16=True, unit=unit) == "fp32"
    assert serving_precision("cnn", allow_bf16=True, unit=unit) == "fp32"
    assert serving_precision("resnet50", allow_bf16=False, unit=unit) == "fp32"
    assert serving_precision("resnet50", allow_bf16=True, unit=None) == "fp32"


def test_bf16_can_be_turned_off(monkeypatch):
    monkeypatch.delenv("VERITY_ML_BF16", raising=False)
    assert bf16_allowed()
    monkeypatch.setenv("VERITY_ML_BF16", "off")
    assert not bf16_allowed()
    monkeypatch.setenv("VERITY_ML_BF16", "always")
    with pytest.raises(ValueError, match="auto or off"):
        bf16_allowed()


def test_small_calls_go_to_float32_and_large_ones_to_bf16():
    def answers(value: float):
        return lambda batch: np.full(len(batch), value, dtype=np.float32)

    run = by_batch_size(answers(32.0), answers(16.0), threshold=8)
    assert run(torch.zeros(7, 3, 32, 32)).tolist() == [32.0] * 7
    assert run(torch.zeros(8, 3, 32, 32)).tolist() == [16.0] * 8


@pytest.fixture(scope="module")
def float32_ensemble() -> Ensemble:
    return Ensemble.load(default_ensemble_path(), runtime="torch", allow_bf16=False)


def test_the_shipped_resnet50_scores_in_bf16_as_in_float32(float32_ensemble):
    member = float32_ensemble.member("resnet50")
    assert member.precision == "fp32"
    views = [photo_like(32, 32, seed) for seed in range(max(BF16_MIN_BATCH.values()))]
    batch = to_tensor(views, member.pre)
    float32_logits = member.runner(batch)
    bf16_logits = bf16_runner(member.model)(batch)
    assert bf16_logits.dtype == np.float32
    # validation (3,450 images, 16 crops each): at most 0.14 on a logit, 0.003 on P(AI)
    assert np.abs(bf16_logits - float32_logits).max() < 0.15
    assert float32_logits.std() > 0.05  # the views differ, so agreement is not a constant


def test_members_serve_in_bf16_exactly_where_the_cpu_has_bf16_instructions(float32_ensemble):
    assert {float32_ensemble.member(n).precision for n in float32_ensemble.members} == {"fp32"}
    served = Ensemble.load(default_ensemble_path(), runtime="torch", allow_bf16=True)
    expected = "fp32" if cpu_bf16_unit() is None else "bf16"
    assert served.member("resnet50").precision == expected
    assert served.member("inception_v3").precision == expected
    assert served.member("generalist").precision == "fp32"
    assert served.precisions["resnet50"] == expected
