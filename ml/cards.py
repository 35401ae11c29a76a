"""Model cards in Markdown, written beside every checkpoint from the config that made it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ml.checkpoint import DetectorConfig
from ml.preprocess import Preprocessing

SUBSET_TITLES = {
    "cifake": "CIFAKE (CIFAR-10 photos vs Stable Diffusion 1.4, 32x32)",
    "faces_140k": "faces 140k (FFHQ vs StyleGAN, 256x256)",
    "faces_swap": "face swaps (OpenForensics-style crops, 256x256)",
    "wild": "wild (web photos vs ~30 generators, native crops up to 384)",
    "extra": "extra labelled samples",
}

POLICY_TEXT = {
    "resize": "centre square crop of the shorter side, downscaled (area) to {size}x{size}; "
    "smaller images are never upsampled",
    "native_crops": "native resolution: images up to {size} px seen whole, larger ones as "
    "{crops} crops of {size}x{size} whose logits are averaged; never resized",
    "face_crops": "faces found by OpenCV's Haar cascade, square crops with margin resized to "
    "{size}x{size}; no face, no score (out of scope)",
}
UPSAMPLE_TEXT = (
    "centre square crop of the shorter side, enlarged (bicubic) to {size}x{size}: every image "
    "in its scope is smaller, so real and generated ones are enlarged alike, in training and "
    "serving"
)


MIRRORED_TEXT = "; each view is also scored mirrored (mean logit)"


def sees_text(pre: Preprocessing) -> str:
    template = UPSAMPLE_TEXT if pre.upsample else POLICY_TEXT[pre.policy]
    text = template.format(size=pre.input_size, crops=pre.num_crops)
    return text + MIRRORED_TEXT if pre.mirrored else text


def _format(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def metrics_table(metrics: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    rows = ["| subset | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for subset, entry in metrics.items():
        if isinstance(entry, dict):
            values = " | ".join(_format(entry.get(column, float("nan"))) for column in columns)
            rows.append(f"| {subset} | {values} |")
    return rows


def lineage_lines(parent: dict[str, Any] | None) -> list[str]:
    """One line per earlier run a fine-tuned member started from, most recent first."""
    lines = []
    while parent:
        # Older checkpoints did not record their input size.
        size = f" at {parent['input_size']} px" if parent.get("input_size") else ""
        lines.append(
            f"- Fine-tuned from a checkpoint trained before{size}: device "
            f"{parent.get('device')}, lr {parent.get('lr')}, ran {parent.get('epochs_run')} "
            f"epochs, kept epoch {parent.get('best_epoch')}, {parent.get('duration_s')} s, "
            f"{parent.get('date')}"
        )
        parent = parent.get("parent_training")
    return lines


def member_card(config: DetectorConfig) -> str:
    pre = config.preprocessing
    training = config.training
    policy = sees_text(pre)
    lines = [
        f"# Verity member `{config.member}`",
        "",
        f"- Architecture: `{config.architecture}` {config.arch_kwargs}, "
        f"{training.get('parameters', '?'):,} parameters"
        if training.get("parameters")
        else f"- Architecture: `{config.architecture}` {config.arch_kwargs}",
        f"- Sees: {policy}. Mean {pre.mean}, std {pre.std}.",
        f"- In scope: shorter side >= {pre.min_side} px"
        + (f", longer side <= {pre.max_side} px" if pre.max_side else ""),
        "- Output: one logit, P(AI-generated) = sigmoid(logit) before the ensemble's calibration.",
        "",
        "## Training data",
    ]
    for subset, counts in training.get("train_counts", {}).items():
        lines.append(
            f"- {SUBSET_TITLES.get(subset, subset)}: {counts['ai']} AI, {counts['real']} "
            "real (train); validation split carved from the train shards, never a test "
            "split"
        )
    recipe = training.get("recipe", {})
    if recipe:
        lines += [
            "",
            "## Recipe",
            f"- {recipe['optimizer']} lr {recipe['lr']}, {recipe['schedule']} schedule, batch "
            f"{recipe['batch_size']}, weight decay {recipe['weight_decay']}, up to "
            f"{recipe['epochs']} epochs, early stopping patience {recipe['patience']} "
            f"(ran {training.get('epochs_run')}, kept epoch {training.get('best_epoch')})",
            f"- Augmentation (both classes): {recipe['augment']}",
            *(
                [f"- Weights kept and validated: their moving average (decay {ema} per step)"]
                if (ema := recipe.get("ema_decay"))
                else []
            ),
            *(
                [
                    f"- Batch-norm statistics measured on the serving views of {count} training "
                    "images before each validation"
                ]
                if (count := training.get("batch_norm_images"))
                else []
            ),
            *(
                ["- No epoch beat the parent on validation: the parent's weights are kept"]
                if training.get("parent") and training.get("best_epoch") == 0
                else []
            ),
            f"- Seed {training.get('seed')}, device {training.get('device')}, bf16 autocast "
            f"{training.get('amp_bf16')}, {training.get('duration_s')} s, {training.get('date')}",
        ]
        lines += lineage_lines(training.get("parent_training"))
    validation = config.metrics.get("validation", {})
    if validation:
        lines += ["", "## Validation (carved from train shards)", ""]
        lines += metrics_table(validation, ("accuracy", "roc_auc", "loss", "in_scope"))
    lines += [
        "",
        "## Does not cover",
        "- Generators, subjects and deliveries unlike the training data; see the ensemble card.",
        "",
    ]
    return "\n".join(lines)


def _band_text(combiner: dict[str, Any]) -> str:
    ai_from, real_to = combiner["likely_ai_from"], combiner["likely_real_to"]
    ai = f"`likely_ai` from P(AI) >= {ai_from:.3f}" if ai_from <= 1 else "no `likely_ai` band"
    real = f"`likely_real` up to {real_to:.3f}" if real_to >= 0 else "no `likely_real` band"
    return f"{ai}, {real}"


def _file_size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB" if path.is_file() else "missing"


TEST_COLUMNS = (
    "count",
    "accuracy",
    "roc_auc",
    "ece",
    "ece_if_calibrated",
    "accuracy_jpeg_q75",
    "accuracy_webp_q75",
    "decisive",
    "likely_ai_precision",
)


def _test_rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {}
    for subset, entry in report["subsets"].items():
        original = entry["degradations"]["original"]
        degraded = {
            f"accuracy_{name}": entry["degradations"]
            .get(name, {})
            .get("ensemble", {})
            .get("accuracy")
            for name in ("jpeg_q75", "webp_q75")
        }
        rows[subset] = {
            "count": entry["count"],
            **original["ensemble"],
            **original["bands"],
            **degraded,
        }
    return rows


def training_lines(directory: Path, members: list[str]) -> list[str]:
    """Where and how long each shipped member trained (its own card has the recipe)."""
    total = sum((directory / f"{name}.safetensors").stat().st_size for name in members)
    lines = [
        f"## Training (shipped weights: {total / 1e6:.0f} MB fp16 safetensors in all)",
        "",
        "| member | device | epochs run | kept epoch | minutes |",
        "|---|---|---|---|---|",
    ]
    for name in members:
        raw = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        training = raw.get("training", {})
        minutes = training.get("duration_s", 0) / 60
        lines.append(
            f"| {name} | {training.get('device', '?')} | {training.get('epochs_run', '?')} "
            f"| {training.get('best_epoch', '?')} | {minutes:.1f} |"
        )
    return [
        *lines,
        "",
        "Each member's card (`<member>.md`) states its recipe, data and validation metrics; "
        "`training/<member>.log` holds its epoch-by-epoch validation log.",
    ]


def ensemble_card(
    directory: Path,
    test_report: dict[str, Any] | None = None,
    throughput: dict[str, Any] | None = None,
) -> str:
    """The shipped ensemble's card, from ensemble.json and the members' configs."""
    manifest = json.loads((directory / "ensemble.json").read_text(encoding="utf-8"))
    combiner = manifest["combiner"]
    lines = [
        f"# {manifest['version']}",
        "",
        "Tells whether an image is AI-generated: a calibrated probability, a band "
        "(`likely_ai` / `inconclusive` / `likely_real`) and per-member scores. "
        "Built by `python -m ml.assemble`; members trained by `python -m ml.train`.",
        "",
        "## Members",
        "",
        "| member | architecture | parameters | sees | file |",
        "|---|---|---|---|---|",
    ]
    for name in combiner["members"]:
        config = DetectorConfig.from_dict(
            json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        )
        pre = config.preprocessing
        sees = sees_text(pre)
        params = config.training.get("parameters", "?")
        size = _file_size(directory / f"{name}.safetensors")
        lines.append(f"| {name} | {config.architecture} | {params:,} | {sees} | {size} fp16 |")
    lines += ["", *training_lines(directory, combiner["members"])]
    lines += [
        "",
        "## Verdict",
        "- Stacker: logistic regression on each member's logit and scope, and their products with "
        "the other members' scope (`ml.calibration.stack_features`), then Platt scaling fit on "
        "out-of-fold stacker outputs; all fit on the validation split (subsets weighted equally).",
        f"- Bands: {_band_text(combiner)} (each band >= 95% precise on validation, overall "
        "and within every subset, there with a standard error to spare: "
        "`ml.calibration.lowest_threshold`).",
        f"- Abstains (`inconclusive` + reason) when no member is in scope, when in-scope members'"
        f" probabilities span >= {combiner['disagreement']:.2f}, or when a JPEG q85 re-encode "
        "changes the band.",
        "",
        "## Validation (carved from the train shards; fit data for the combiner)",
        "",
        *metrics_table(
            {
                subset: {**entry, **entry.get("bands", {})}
                for subset, entry in manifest["validation"].items()
            },
            ("count", "accuracy", "roc_auc", "ece", "decisive", "likely_ai_precision"),
        ),
    ]
    if manifest.get("bands_out_of_fold"):
        lines += [
            "",
            "## Bands and abstentions out of sample (validation, 5-fold cross-validation x 5 "
            "shuffles)",
            "",
            "Band thresholds and the disagreement span fit on four fifths of the validation "
            "split, judged on the fifth. `decisive`: calls the bands make; "
            "`taken_by_disagreement`: those `models_disagree` turns inconclusive (share of "
            "images); `wrong_among_taken` / `wrong_among_kept`: how often the calls it took "
            "and the calls it left were wrong (n/a: no such call):",
            "",
            *metrics_table(
                manifest["bands_out_of_fold"],
                (
                    "likely_ai_precision",
                    "likely_real_precision",
                    "decisive",
                    "taken_by_disagreement",
                    "wrong_among_taken",
                    "wrong_among_kept",
                ),
            ),
        ]
    if test_report:
        lines += [
            "",
            "## Test splits (never used for training or fitting; `python -m ml.bench`)",
            "",
        ]
        lines += metrics_table(_test_rows(test_report), TEST_COLUMNS)
    if throughput:
        peak, peak_bf16 = throughput["peak_gflops_fp32"], throughput["peak_gflops_bf16"]
        lines += [
            "",
            f"## Speed ({throughput['machine']}; matmul peak fp32 {peak:.0f}, bf16 "
            f"{peak_bf16:.0f} GFLOP/s)",
            "",
        ]
        for label, row in throughput["sets"].items():
            e = row["ensemble"]
            lines.append(
                f"- {label}: {e['batch_1']:.1f} images/s at batch 1, {e['batch_32']:.1f} "
                f"at batch 32; {e['gflop_per_image']:.1f} GFLOP per image (both copies), "
                f"{e['batch_32'] / e['ceiling']:.0%} of the FLOP ceiling in {e['precision']}"
                + _float32_only(row)
            )
    lines += [
        "",
        "## Data",
        "- CIFAKE train subset (17k + 17k), faces 140k (FFHQ vs StyleGAN) and face swaps train "
        "splits, wild train split: `../shared/datasets/` (see their READMEs for sources and "
        "licences: research use only). Deduplicated; no image of any test split was used.",
        "",
        "## Does not cover",
        "- Generators unlike those in the training data; the wild set has ~1k fakes from ~30 "
        "generators, so novel generators may pass as real.",
        "- Images edited partly (inpainting, local edits) other than face swaps; screenshots "
        "other than of the whole image on a display at 100-125% (the evaluation's "
        "`screenshot_1.25x`), such as ones with page or interface around the image; heavy "
        "filters; images smaller than 16 px (no member in scope).",
        "- Images the web re-encoded as WebP are measured (the evaluation's `webp_q75`) but no "
        "member trained on WebP: the face sets lose about 3 points and more verdicts turn "
        "inconclusive, without more real photos flagged `likely_ai`.",
        "- Faces that OpenCV's Haar cascade does not find (profiles, small faces < 64 px): the "
        "face member then says nothing.",
        "- Small images (up to 64 px) from generators other than Stable Diffusion 1.4: the members "
        "that score them (cnn, thumbnail) learnt small images from CIFAKE alone.",
        "",
    ]
    return "\n".join(lines)


def _float32_only(row: dict[str, Any]) -> str:
    """The same ensemble without bf16, where the benchmark measured it beside the served one."""
    f = row.get("ensemble_float32_only")
    if f is None:
        return ""
    return (
        f"; in float32 only {f['batch_1']:.1f} and {f['batch_32']:.1f} images/s, "
        f"{f['batch_32'] / f['ceiling']:.0%} of the fp32 ceiling"
    )
