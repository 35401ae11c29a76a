"""A tiny real training run on a slice of CIFAKE: the checkpoint loads, assembles and predicts."""

from __future__ import annotations

import io
import json
import math
import random
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ml.assemble import AssembleConfig, assemble
from ml.checkpoint import load_checkpoint
from ml.data import SplitMismatchError, decode_rgb, load_split
from ml.ensemble import Ensemble
from ml.preprocess import to_tensor
from ml.recipes import RECIPES
from ml.runtime import cpu_bf16_unit
from ml.train import (
    Loop,
    TrainConfig,
    main,
    make_items,
    parse_args,
    recalibrate_batch_norm,
    serving_views_of,
    split_for,
    train,
    uses_bf16,
    validate,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    events = []
    config = TrainConfig(
        member="cnn",
        out_dir=out,
        data_dir=data_dir,
        epochs=2,
        max_steps=3,
        batch_size=32,
        limit_per_class=64,
        seed=1,
    )
    result = train(config, progress=events.append)
    return out, result, events


def test_training_writes_weights_config_card_and_history(trained):
    out, result, events = trained
    directory = out / "cnn"
    assert result.checkpoint_dir == directory
    for name in ("cnn.safetensors", "cnn.json", "cnn.md", "history.json"):
        assert (directory / name).is_file()
    config = json.loads((directory / "cnn.json").read_text())
    assert config["preprocessing"]["input_size"] == 32
    assert config["training"]["train_counts"]["cifake"] == {"ai": 64, "real": 64}
    card = (directory / "cnn.md").read_text()
    assert "validation split carved from the train shards" in card
    # the cnn recipe measures batch-norm statistics again on serving views (all 128 images here)
    assert config["training"]["batch_norm_images"] == 128
    assert "Batch-norm statistics measured on the serving views of 128 training images" in card
    # bf16 autocast only where it was asked for or a GPU trained it
    device = torch.device("cuda" if config["training"]["device"] != "cpu" else "cpu")
    assert config["training"]["amp_bf16"] == uses_bf16(device, None, "cnn", cpu_bf16_unit())
    assert [e["event"] for e in events if e["event"] != "step"] == ["epoch", "epoch", "done"]


def fine_tune_of(parent, data_dir, out_dir, *, epochs, lr=None):
    """A few steps of the cnn from `parent` on the fixture's slice (same split, same seed)."""
    return TrainConfig(
        member="cnn",
        out_dir=out_dir,
        data_dir=data_dir,
        parent=parent,
        epochs=epochs,
        max_steps=2,
        batch_size=32,
        limit_per_class=64,
        lr=lr,
        seed=1,
    )


def test_a_fine_tune_starts_from_its_parent_and_its_card_tells_the_lineage(
    trained, data_dir, tmp_path
):
    out, result, _ = trained
    tuned = train(fine_tune_of(result.checkpoint_dir, data_dir, tmp_path, epochs=1))
    _, config = load_checkpoint(tuned.checkpoint_dir, "cnn")
    parent = json.loads((out / "cnn" / "cnn.json").read_text())["training"]
    assert config.training["recipe"]["lr"] == parent["recipe"]["lr"] / 10
    assert config.training["parent_training"]["epochs_run"] == parent["epochs_run"] == 2
    assert config.training["parent_training"]["date"] == parent["date"]
    assert config.training["parent_training"]["input_size"] == 32
    card = (tuned.checkpoint_dir / "cnn.md").read_text()
    assert "Fine-tuned from a checkpoint trained before at 32 px" in card and "ran 2 epochs" in card


def test_a_fine_tune_that_never_beats_its_parent_keeps_the_parent(trained, data_dir, tmp_path):
    _, result, _ = trained
    events: list[dict] = []
    tuned = train(
        # a rate that wrecks the weights in a step: no epoch can beat the parent
        fine_tune_of(result.checkpoint_dir, data_dir, tmp_path, epochs=2, lr=50.0),
        progress=events.append,
    )
    parent_model, parent_config = load_checkpoint(result.checkpoint_dir, "cnn")
    tuned_model, tuned_config = load_checkpoint(tuned.checkpoint_dir, "cnn")
    assert tuned.best_epoch == 0 and tuned_config.training["best_epoch"] == 0
    assert [e["event"] for e in events if e["event"] != "step"][:2] == ["parent", "epoch"]
    epoch_zero = tuned.history[0]
    assert epoch_zero["epoch"] == 0 and epoch_zero["train_loss"] is None
    # the parent judged again on the same split reads what its own card says
    parent_loss = parent_config.metrics["validation"]["loss"]
    assert epoch_zero["val"]["loss"] == pytest.approx(parent_loss, abs=1e-3)
    assert all(
        record["val"]["loss"] > parent_loss or math.isnan(record["val"]["loss"])
        for record in tuned.history[1:]
    )
    for name, weights in parent_model.state_dict().items():
        assert torch.equal(weights, tuned_model.state_dict()[name]), name
    card = (tuned.checkpoint_dir / "cnn.md").read_text()
    assert "No epoch beat the parent on validation: the parent's weights are kept" in card


def test_a_fine_tune_or_assemble_on_another_validation_split_is_refused(
    trained, data_dir, tmp_path
):
    out, result, _ = trained
    with pytest.raises(SplitMismatchError, match="parent"):
        train(
            TrainConfig(
                member="cnn",
                out_dir=tmp_path,
                data_dir=data_dir,
                parent=result.checkpoint_dir,
                epochs=1,
                max_steps=1,
                limit_per_class=8,
                split_seed=3,
            )
        )
    with pytest.raises(SplitMismatchError, match="member cnn"):
        assemble(AssembleConfig(members=["cnn"], runs=out, out_dir=tmp_path, seed=3))
    assert not (tmp_path / "cnn").exists()


def test_the_checkpoint_loads_and_scores_images(trained, data_dir):
    out, _, _ = trained
    model, config = load_checkpoint(out / "cnn", "cnn")
    assert config.member == "cnn" and not model.training


@pytest.fixture(scope="module")
def artefact(trained, data_dir, tmp_path_factory):
    out, _, _ = trained
    return assemble(
        AssembleConfig(
            members=["cnn"],
            runs=out,
            out_dir=tmp_path_factory.mktemp("ensemble"),
            version="verity-ensemble-test",
            data_dir=data_dir,
            limit_per_class=40,
        )
    )


@pytest.fixture
def onnx_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VERITY_ONNX_CACHE", str(tmp_path / "onnx"))
    return tmp_path / "onnx"


def test_an_ensemble_assembled_from_it_predicts_and_explains(artefact, data_dir, onnx_cache):
    ensemble = Ensemble.load(artefact, runtime="onnx")
    assert ensemble.version == "verity-ensemble-test" and ensemble.members == ["cnn"]
    test_images = [decode_rgb(s.data) for s in load_split("cifake", "test", data_dir)[:3]]
    big = Image.new("RGB", (640, 480), "gray")
    predictions = ensemble.predict([*test_images, big])
    for p in predictions[:3]:
        assert 0.0 <= p.probability_ai <= 1.0
        assert p.model_scores["cnn"] is not None
        assert p.band in {"likely_real", "inconclusive", "likely_ai"}
    assert predictions[3].abstain_reason == "no_model_in_scope"
    assert predictions[3].model_scores == {"cnn": None}
    assert json.dumps([p.to_dict() for p in predictions])
    png = ensemble.explain(test_images[0], member="cnn")
    with Image.open(io.BytesIO(png)) as heatmap:
        assert heatmap.format == "PNG" and heatmap.size == (256, 256)
    card = (artefact / "MODEL_CARD.md").read_text()
    assert "verity-ensemble-test" in card and "cnn" in card
    out_of_fold = json.loads((artefact / "ensemble.json").read_text())["bands_out_of_fold"]
    assert 0.0 <= out_of_fold["cifake"]["decisive"] <= 1.0
    assert "## Bands and abstentions out of sample" in card
    assert "wrong_among_taken" in out_of_fold["cifake"]
    assert (artefact / "cnn.safetensors").stat().st_size < 3_000_000  # float16


def test_onnx_runtime_and_pytorch_give_the_same_scores(artefact, data_dir, onnx_cache):
    images = [decode_rgb(s.data) for s in load_split("cifake", "test", data_dir)[:40]]
    onnx = Ensemble.load(artefact, runtime="onnx").member_logits(images)["cnn"]
    eager = Ensemble.load(artefact, runtime="torch").member_logits(images)["cnn"]
    assert abs(onnx - eager).max() < 1e-3
    assert list(onnx_cache.glob("cnn-*.onnx"))  # exported once, then reused from the cache


def test_a_missing_artefact_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Verity ensemble artefact"):
        Ensemble.load(tmp_path)


def test_the_command_line_trains_too(data_dir, tmp_path, capsys):
    main(
        [
            "--member",
            "cnn_paper",
            "--out",
            str(tmp_path),
            "--epochs",
            "1",
            "--max-steps",
            "2",
            "--limit-per-class",
            "32",
            "--data-dir",
            str(data_dir),
        ]
    )
    assert "checkpoint in" in capsys.readouterr().out
    _, config = load_checkpoint(tmp_path / "cnn_paper", "cnn_paper")
    assert not math.isnan(config.metrics["validation"]["cifake"]["loss"])


def test_evaluation_of_a_holdout_writes_json_markdown_and_plots(
    artefact, data_dir, tmp_path, onnx_cache
):
    from ml.bench import accuracy_lines, floor_lines
    from ml.cards import ensemble_card
    from ml.evaluate import EvaluateConfig, evaluate

    samples = load_split("cifake", "test", data_dir)
    holdout = [(s.data, s.label) for s in samples[:12] + samples[-12:]]
    events = []
    report = evaluate(
        EvaluateConfig(
            artefact=artefact,
            out_dir=tmp_path,
            holdout=holdout,
            degradations=("original", "jpeg_q75", "webp_q75", "resize_0.5x"),
        ),
        progress=events.append,
    )
    holdout_report = report["subsets"]["holdout"]
    assert holdout_report["count"] == 24
    original = holdout_report["degradations"]["original"]
    assert original["ensemble"]["confusion"]["tp"] + original["ensemble"]["confusion"]["fn"] == 12
    assert original["members"]["cnn"]["coverage"] == 1.0
    # 16x16 after the downscale: below the CNN's scope, so every verdict abstains
    halved = holdout_report["degradations"]["resize_0.5x"]
    assert halved["members"]["cnn"]["coverage"] == 0.0
    assert halved["bands"]["abstained"] == {"no_model_in_scope": 24}
    assert len(events) == 4
    assert "NaN" not in (tmp_path / "report.json").read_text()
    assert "## holdout (24 images)" in (tmp_path / "report.md").read_text()
    for kind in ("roc", "pr", "reliability"):
        with Image.open(tmp_path / f"holdout_{kind}.png") as plot:
            assert plot.format == "PNG"
    table = "\n".join(accuracy_lines(report) + floor_lines(report, None))
    assert "| jpeg_q75 |" in table and "holdout ECE (calibrated, it would read 0." in table
    assert "| holdout accuracy drop under WebP q75 |" in table
    card_row = next(
        line
        for line in ensemble_card(artefact, report, None).splitlines()
        if line.startswith("| holdout |")
    )
    webp = holdout_report["degradations"]["webp_q75"]["ensemble"]["accuracy"]
    assert f"| {webp:.4f} |" in card_row, "the card's test table shows accuracy after WebP q75"


def test_a_matmul_too_slow_at_full_size_is_measured_on_a_smaller_matrix():
    from ml.bench import affordable_side

    # bf16 emulated at ~1 GFLOP/s: 34 ms at 256, 17 s at 2048; 9 runs must fit in 5 s
    assert affordable_side(0.034, 2048, runs=9, budget_s=5.0) == 512
    assert affordable_side(0.0002, 2048, runs=9, budget_s=5.0) == 2048  # fp32 at ~170 GFLOP/s
    assert affordable_side(10.0, 2048, runs=9, budget_s=5.0) == 256  # never below the probe


def test_the_benchmark_measures_throughput_against_the_flop_ceiling(artefact, onnx_cache):
    from ml.bench import floor_lines, throughput_lines, throughput_table
    from ml.cards import ensemble_card

    ensemble = Ensemble.load(artefact, runtime="onnx")
    float32_only = Ensemble.load(artefact, runtime="onnx", allow_bf16=False)
    table = throughput_table(ensemble, count=4, seconds=0.05, float32_only=float32_only)
    cifake = table["sets"]["cifake 32x32"]
    assert cifake["members"]["cnn"]["gflop_per_image"] > 0.05  # ~0.1 GFLOP at 32x32
    assert cifake["ensemble"]["gflop_per_image"] == 2 * cifake["members"]["cnn"]["gflop_per_image"]
    assert table["sets"]["wild <=384"]["members"]["cnn"]["gflop_per_image"] == 0  # out of scope
    assert table["peak_gflops_fp32"] == max(
        table["peak_gflops_fp32_torch"], table["peak_gflops_fp32_onnxruntime"]
    )
    assert table["peak_gflops_fp32_onnxruntime"] > 1 and cifake["ensemble"]["batch_32"] > 0
    # the ceiling is the higher of the readings taken before and after the models ran
    assert table["peak_gflops_fp32"] == max(table["peak_gflops_fp32_readings"])
    assert len(table["peak_gflops_fp32_readings"]) == 2
    assert cifake["ensemble"]["ceiling_fp32"] == pytest.approx(
        table["peak_gflops_fp32"] / cifake["ensemble"]["gflop_per_image"]
    )
    assert cifake["members"]["cnn"]["precision"] == "fp32"  # the CNN never serves in bf16
    assert cifake["ensemble"]["ceiling"] == pytest.approx(cifake["ensemble"]["ceiling_fp32"])
    assert "% of ceiling" in "\n".join(throughput_lines(table))
    # measured beside the served ensemble, and judged against the fp32 ceiling
    beside = cifake["ensemble_float32_only"]
    assert beside["batch_32"] > 0 and beside["ceiling"] == cifake["ensemble"]["ceiling_fp32"]
    floors = "\n".join(floor_lines({"subsets": {}}, table))
    assert "cifake 32x32 ensemble float32 only batch-32 share of the fp32 FLOP ceiling" in floors
    assert "in float32 only" in ensemble_card(artefact, None, table)


def test_a_member_in_bf16_is_held_to_the_bf16_peak():
    from ml.bench import ceiling_as_served, served_precisions

    members = {
        "generalist": {"precision": "fp32", "gflop_per_image": 1.0},
        "resnet50": {"precision": "bf16", "gflop_per_image": 4.0},
        "cnn": {"precision": "fp32", "gflop_per_image": 0.0},  # out of scope here
    }
    peaks = {"peak_gflops_fp32": 100.0, "peak_gflops_bf16": 800.0}
    # both copies of an image: 2 x 1 GFLOP at 100 GFLOP/s + 2 x 4 GFLOP at 800 = 0.03 s
    assert ceiling_as_served(members, peaks) == pytest.approx(1 / 0.03)
    assert served_precisions(members) == "fp32 + bf16"
    assert served_precisions({"cnn": members["cnn"]}) == "fp32"


def test_images_in_other_modes_are_judged_as_rgb(artefact, data_dir, onnx_cache):
    ensemble = Ensemble.load(artefact, runtime="onnx")
    image = decode_rgb(load_split("cifake", "test", data_dir)[0].data)
    as_rgb, as_rgba = ensemble.predict([image, image.convert("RGBA")])
    assert as_rgba.probability_ai == pytest.approx(as_rgb.probability_ai, abs=1e-6)


def epoch_inputs(recipe, batches, seed: int, workers: int) -> list[torch.Tensor]:
    loop = SimpleNamespace(
        rng=random.Random(seed), recipe=recipe, workers=workers, device=torch.device("cpu")
    )
    return [inputs for inputs, _ in Loop.loader(loop, batches)]  # type: ignore[arg-type]


def test_loader_processes_build_the_same_batches_as_the_training_process(data_dir):
    """Each batch's augmentation comes from its own seed, so decoding in worker processes (as
    on a GPU machine) changes the speed, never the data."""
    recipe = RECIPES["cnn"]
    samples = load_split("cifake", "test", data_dir)[:12]
    items = make_items(samples, recipe.preprocessing, None)
    batches = [items[0:4], items[4:8], items[8:12]]
    in_process = epoch_inputs(recipe, batches, seed=7, workers=0)
    in_workers = epoch_inputs(recipe, batches, seed=7, workers=2)
    assert all(torch.equal(a, b) for a, b in zip(in_process, in_workers, strict=True))
    other_seed = epoch_inputs(recipe, batches, seed=8, workers=0)
    assert not all(torch.equal(a, b) for a, b in zip(in_process, other_seed, strict=True))


def test_with_a_moving_average_the_loop_judges_the_averaged_weights():
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    cpu = torch.device("cpu")
    loop = Loop(RECIPES["cnn"], model, optimizer, scheduler, cpu, False, random.Random(0), None)
    loop.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.75), use_buffers=True)
    inputs, targets = torch.randn(8, 3), torch.ones(8)
    after_each_step = []
    for _ in range(3):
        loop.step(inputs, targets)
        after_each_step.append(model[0].weight.detach().clone())
    expected = after_each_step[0]  # the first update copies the weights
    for weights in after_each_step[1:]:
        expected = 0.75 * expected + 0.25 * weights
    assert torch.allclose(loop.judged[0].weight, expected)
    assert not torch.allclose(loop.judged[0].weight, model[0].weight)


def test_with_a_moving_average_the_checkpoint_holds_the_weights_validation_judged(
    data_dir, tmp_path
):
    assert RECIPES["cnn"].ema_decay is None  # the run's own setting overrides the recipe's
    config = TrainConfig(
        member="cnn",
        ema_decay=0.9,
        out_dir=tmp_path,
        data_dir=data_dir,
        epochs=1,
        max_steps=3,
        batch_size=16,
        limit_per_class=16,
    )
    result = train(config)
    model, detector_config = load_checkpoint(result.checkpoint_dir, "cnn")
    assert detector_config.training["recipe"]["ema_decay"] == 0.9
    card = (result.checkpoint_dir / "cnn.md").read_text()
    assert "their moving average (decay 0.9 per step)" in card
    _, val_samples = split_for(config, RECIPES["cnn"])
    again = validate(model, detector_config, val_samples)
    assert again["loss"] == pytest.approx(result.val_metrics["loss"], abs=1e-5)


def test_batch_norm_statistics_are_measured_again_on_the_views_serving_makes(data_dir):
    recipe = RECIPES["cnn"]
    items = make_items(load_split("cifake", "test", data_dir)[:40], recipe.preprocessing, None)
    normalise = nn.BatchNorm2d(3, momentum=0.1)
    model = nn.Sequential(normalise, nn.Dropout(0.9), nn.BatchNorm2d(3))
    model.train()  # as the training loop leaves it
    recalibrate_batch_norm(model, items, recipe.preprocessing, None, torch.device("cpu"))
    views = [view for item in items for view in serving_views_of(item, recipe.preprocessing, None)]
    pixels = to_tensor(views, recipe.preprocessing)
    assert torch.allclose(normalise.running_mean, pixels.mean(dim=(0, 2, 3)), atol=1e-5)
    assert torch.allclose(normalise.running_var, pixels.var(dim=(0, 2, 3)), rtol=1e-3)
    # dropout was off while measuring (at p 0.9 it would have scaled what follows it tenfold),
    # so the second layer saw the first one's normalised output as is
    assert torch.allclose(model[2].running_var, torch.ones(3), atol=1e-2)
    assert normalise.momentum == 0.1 and model.training  # left as training had it


def test_bf16_autocast_is_for_gpus_and_cpus_it_was_measured_faster_on_unless_asked():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert uses_bf16(gpu, None, "efficientnet_lite0", None)
    assert uses_bf16(cpu, None, "resnet50", "avx512_bf16")
    assert not uses_bf16(cpu, None, "efficientnet_lite0", "avx512_bf16")  # no faster there
    assert uses_bf16(cpu, None, "inception_v3", "amx_bf16")
    assert not uses_bf16(cpu, None, "efficientnet_lite0", "amx_bf16")  # slower there
    assert not uses_bf16(cpu, None, "resnet50", None)  # emulated: up to 24x slower
    assert uses_bf16(cpu, True, "cnn", None) and not uses_bf16(gpu, False, "cnn", None)
    assert [parse_args(flags).amp for flags in ([], ["--amp"], ["--no-amp"])] == [None, True, False]
