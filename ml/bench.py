"""The benchmark the issue asks for: `python -m ml.bench` (`make bench-ml`). Prints tables.

1. Accuracy on every test split (CIFAKE 19,962, faces 140k 366, face swaps 500, wild 347) under
   every degradation, for the ensemble and each member (via ml.evaluate), beside the papers'
   numbers and the issue's floors.
2. Throughput per member and for the whole ensemble (images/s at batch 1 and 32) on CIFAKE,
   face and wild test images; peak memory; FLOPs per image against the ceiling that this
   machine's measured matmul peak allows. The peak is the faster of PyTorch's (MKL) and ONNX
   Runtime's (MLAS) float32 matmul: on AMD EPYC hosts MKL reaches only half of what MLAS does
   (233 against 461 GFLOP/s on 2 threads), and serving runs on ONNX Runtime, so PyTorch's
   figure alone would set the ceiling below what the members themselves reach. A member that
   serves in bf16 (ResNet-50 and InceptionV3 on a CPU with AMX or AVX-512 BF16, `ml.runtime`)
   is judged against the bf16 peak: the ensemble's ceiling adds up each member's FLOPs at its
   own precision's peak, so running faster in bf16 never reads as a higher share of a float32
   ceiling; the same ensemble in float32 only is measured beside it.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from ml.cards import ensemble_card
from ml.data import decode_rgb, load_split
from ml.ensemble import Ensemble, default_ensemble_path
from ml.evaluate import DEGRADATIONS, SUBSETS, EvaluateConfig, evaluate, json_ready
from ml.member import Member
from ml.runtime import cpu_bf16_unit

PAPERS = {  # best CIFAKE / faces accuracy each seed paper reports (shared/research/SEEDS.md)
    "cifake": "papers: CNN #3 0.94 (val), custom CNN ~0.95, ResNet-50 ~0.97, InceptionV3 0.9459",
    "faces_140k": "paper (Villarreal et al.): 0.9808 (val)",
}
FLOORS = {"cifake": 0.985, "faces_140k": 0.99, "faces_swap": 0.95}
MEMBER_FLOORS = {"cnn": 0.95, "resnet50": 0.97, "inception_v3": 0.97}
IMAGE_SETS = {
    "cifake 32x32": ("cifake", None),
    "faces 256x256": ("faces", "faces_140k"),
    "wild <=384": ("wild", None),
}


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (the benchmark names the device)."""
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The CPU, its bf16 instructions (a model name such as "AMD EPYC" covers CPUs with and
    without them), threads and GPU."""
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    bf16 = cpu_bf16_unit() or "none"
    cpu = f"{cpu_model()} ({platform.machine()}, bf16 instructions: {bf16})"
    return f"{cpu}, {torch.get_num_threads()} threads, {device}"


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def matmul_peak(
    dtype: torch.dtype, side: int = 2048, repeats: int = 8, budget_s: float = 10.0
) -> float:
    """Measured GFLOP/s of PyTorch's square matmul on this machine (best of `repeats`), on a
    smaller matrix where `side` would take longer than `budget_s` in all: a CPU without bf16
    instructions emulates bf16 at about 1 GFLOP/s, and 2048x2048 then takes minutes."""
    probe = torch.randn(256, 256, dtype=dtype)
    side = affordable_side(best_seconds(lambda: probe @ probe, 3), side, repeats + 1, budget_s)
    a, b = torch.randn(side, side, dtype=dtype), torch.randn(side, side, dtype=dtype)
    return 2 * side**3 / best_seconds(lambda: a @ b, repeats) / 1e9


def affordable_side(seconds_at_256: float, side: int, runs: int, budget_s: float) -> int:
    """The largest of side, side/2, ... (down to 256) whose `runs` matmuls fit in `budget_s`,
    given one 256x256 matmul's time (a matmul's cost grows with the cube of its side)."""
    while side > 256 and seconds_at_256 * (side / 256) ** 3 * runs > budget_s:
        side //= 2
    return side


class _MatMul(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b


def onnxruntime_matmul_peak(side: int = 2048, repeats: int = 8) -> float:
    """Measured GFLOP/s of ONNX Runtime's float32 square matmul, with the serving threads."""
    import onnxruntime

    a, b = torch.randn(side, side), torch.randn(side, side)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "matmul.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing, as in ml.runtime
            torch.onnx.export(
                _MatMul(), (a, b), str(path), input_names=["a", "b"], opset_version=18, dynamo=False
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    inputs = {"a": a.numpy(), "b": b.numpy()}
    return 2 * side**3 / best_seconds(lambda: session.run(None, inputs), repeats) / 1e9


def sample_images(dataset: str, subset: str | None, count: int) -> list[Image.Image]:
    samples = [s for s in load_split(dataset, "test") if subset is None or s.subset == subset]
    step = max(1, len(samples) // count)
    return [decode_rgb(s.data) for s in samples[::step][:count]]


def member_flops(member: Member, images: Sequence[Image.Image]) -> float:
    """FLOPs per image of the member's network on these images (0 when out of scope), counted
    on its PyTorch model (the ONNX graph computes the same)."""
    eager = Member(member.model, member.config)
    with FlopCounterMode(display=False) as counter:
        eager.logits(images)
    return counter.get_total_flops() / len(images)


def images_per_second(
    score: Callable[[list[Image.Image]], object],
    images: list[Image.Image],
    batch: int,
    seconds: float = 3.0,
) -> float:
    score(images[:batch])  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or done == 0:
        for start in range(0, len(images), batch):
            score(images[start : start + batch])
            done += len(images[start : start + batch])
    return done / (time.perf_counter() - started)


def fp32_peaks() -> dict[str, float]:
    """fp32 matmul GFLOP/s: the faster of PyTorch (MKL) and ONNX Runtime (MLAS), and both."""
    peak_torch, peak_onnx = matmul_peak(torch.float32), onnxruntime_matmul_peak()
    return {
        "peak_gflops_fp32": max(peak_torch, peak_onnx),
        "peak_gflops_fp32_torch": peak_torch,
        "peak_gflops_fp32_onnxruntime": peak_onnx,
    }


def ceiling_as_served(members: dict[str, dict[str, Any]], peaks: dict[str, float]) -> float:
    """Images/s the ensemble's FLOPs allow (both copies of every image) with each member at the
    matmul peak of the precision it serves in."""
    seconds = sum(
        2 * m["gflop_per_image"] / peaks[f"peak_gflops_{m['precision']}"] for m in members.values()
    )
    return 1 / seconds if seconds else float("inf")


def served_precisions(members: dict[str, dict[str, Any]]) -> str:
    """The precisions the members in scope serve in, e.g. "fp32" or "fp32 + bf16"."""
    used = {m["precision"] for m in members.values() if m["gflop_per_image"] > 0}
    return " + ".join(sorted(used, key=["fp32", "bf16"].index)) or "fp32"


def throughput_table(
    ensemble: Ensemble,
    count: int,
    seconds: float = 3.0,
    float32_only: Ensemble | None = None,
) -> dict[str, Any]:
    """Members and the ensemble as served; `float32_only`: the same artefact loaded without
    bf16, measured beside it, so that a host with bf16 instructions shows both."""
    # A shared 2-core machine's speed drifts over minutes (its neighbours load the host), so
    # the ceiling is measured before and after the models run and the higher reading kept:
    # a ceiling measured in a slow spell once made the ensemble look 101% efficient.
    before = {**fp32_peaks(), "peak_gflops_bf16": matmul_peak(torch.bfloat16)}
    rows: dict[str, Any] = {}
    for label, (dataset, subset) in IMAGE_SETS.items():
        images = sample_images(dataset, subset, count)
        row: dict[str, Any] = {"members": {}}
        for name in ensemble.members:
            member = ensemble.member(name)
            row["members"][name] = {
                "precision": member.precision,
                "gflop_per_image": member_flops(member, images) / 1e9,
                "batch_1": images_per_second(member.logits, images[:8], 1, seconds),
                "batch_32": images_per_second(member.logits, images, 32, seconds),
            }
        # the ensemble scores every image twice: as given and after a JPEG q85 re-encode
        row["ensemble"] = {
            "gflop_per_image": 2 * sum(m["gflop_per_image"] for m in row["members"].values()),
            "batch_1": images_per_second(ensemble.predict, images[:8], 1, seconds),
            "batch_32": images_per_second(ensemble.predict, images, 32, seconds),
        }
        if float32_only is not None:
            row["ensemble_float32_only"] = {
                "gflop_per_image": row["ensemble"]["gflop_per_image"],
                "batch_1": images_per_second(float32_only.predict, images[:8], 1, seconds),
                "batch_32": images_per_second(float32_only.predict, images, 32, seconds),
            }
        rows[label] = row
    after = fp32_peaks()
    peaks = {key: max(before[key], after.get(key, 0.0)) for key in before}
    for row in rows.values():
        gflop = row["ensemble"]["gflop_per_image"]
        for precision in ("fp32", "bf16"):
            peak = peaks[f"peak_gflops_{precision}"]
            row["ensemble"][f"ceiling_{precision}"] = peak / gflop if gflop else float("inf")
        row["ensemble"]["ceiling"] = ceiling_as_served(row["members"], peaks)
        row["ensemble"]["precision"] = served_precisions(row["members"])
        if "ensemble_float32_only" in row:
            ceiling = row["ensemble"]["ceiling_fp32"]
            row["ensemble_float32_only"].update(ceiling=ceiling, precision="fp32")
    return {
        "machine": machine(),
        **peaks,
        "peak_gflops_fp32_readings": [before["peak_gflops_fp32"], after["peak_gflops_fp32"]],
        "sets": rows,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def accuracy_lines(report: dict[str, Any]) -> list[str]:
    degradations = [d for d in DEGRADATIONS if d != "upscale_2x"]
    lines = []
    for subset, entry in report["subsets"].items():
        by_degradation = entry["degradations"]
        members = list(by_degradation["original"]["members"])
        lines += [
            "",
            f"## {subset} test ({entry['count']} images)  {PAPERS.get(subset, '')}",
            "",
            "| degradation | ensemble acc | AUC | ECE | decisive | P(likely_ai) | "
            + " | ".join(f"{m} acc" for m in members)
            + " |",
            "|---" * (6 + len(members)) + "|",
        ]
        for degradation in [*degradations, "upscale_2x"]:
            if degradation not in by_degradation:
                continue
            d = by_degradation[degradation]
            e, bands = d["ensemble"], d["bands"]
            member_acc = [
                _fmt(d["members"][m].get("accuracy")) + _coverage(d["members"][m]) for m in members
            ]
            lines.append(
                f"| {degradation} | {_fmt(e['accuracy'])} | {_fmt(e['roc_auc'])} | "
                f"{_fmt(e['ece'])} | {_fmt(bands['decisive'])} | "
                f"{_fmt(bands['likely_ai_precision'])} | " + " | ".join(member_acc) + " |"
            )
        upscaled = by_degradation.get("upscale_2x")
        if upscaled:
            lines.append(
                f"\nReals flagged likely_ai after a 2x upscale: "
                f"{_fmt(upscaled['bands']['reals_flagged_likely_ai'])} (as given: "
                f"{_fmt(by_degradation['original']['bands']['reals_flagged_likely_ai'])})"
            )
    return lines


def _coverage(entry: dict[str, Any]) -> str:
    coverage = entry.get("coverage", 1.0)
    return "" if coverage >= 0.999 else f" ({coverage:.0%} in scope)"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def throughput_lines(table: dict[str, Any]) -> list[str]:
    readings = " and ".join(f"{peak:.0f}" for peak in table["peak_gflops_fp32_readings"])
    lines = [
        "",
        f"## Throughput on {table['machine']}",
        f"Measured matmul peak: fp32 {table['peak_gflops_fp32']:.0f} GFLOP/s (the faster of "
        f"PyTorch {table['peak_gflops_fp32_torch']:.0f} and ONNX Runtime "
        f"{table['peak_gflops_fp32_onnxruntime']:.0f}; the higher of the readings before and "
        f"after the models ran: {readings}), bf16 {table['peak_gflops_bf16']:.1f} "
        "GFLOP/s (PyTorch). Members serve in float32 on ONNX Runtime, or in bf16 where the "
        "precision column says so; the ceiling counts each member's FLOPs at its precision's "
        "peak (the fp32-only ceiling in brackets).",
        "",
        "| images | model | precision | GFLOP/img | img/s batch 1 | img/s batch 32 "
        "| FLOP ceiling img/s | % of ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, row in table["sets"].items():
        for name, m in row["members"].items():
            lines.append(
                f"| {label} | {name} | {m['precision']} | {m['gflop_per_image']:.3f} "
                f"| {m['batch_1']:.1f} | {m['batch_32']:.1f} | | |"
            )
        e = row["ensemble"]
        lines.append(
            f"| {label} | **ensemble** (x2: q85 copy) | {e['precision']} "
            f"| {e['gflop_per_image']:.3f} | {e['batch_1']:.1f} | {e['batch_32']:.1f} "
            f"| {e['ceiling']:.1f} (fp32: {e['ceiling_fp32']:.1f}) "
            f"| {share_of_ceiling(e):.0%} |"
        )
        if "ensemble_float32_only" in row:
            f = row["ensemble_float32_only"]
            lines.append(
                f"| {label} | ensemble, float32 only | fp32 | {f['gflop_per_image']:.3f} "
                f"| {f['batch_1']:.1f} | {f['batch_32']:.1f} | {f['ceiling']:.1f} "
                f"| {share_of_ceiling(f):.0%} |"
            )
    lines.append(
        f"\nPeak resident memory of the benchmark process: {table['peak_rss_mib']:.0f} MiB"
    )
    return lines


def share_of_ceiling(ensemble_row: dict[str, Any]) -> float:
    """Batch-32 throughput as a share of the FLOP ceiling at the precisions served."""
    ceiling = ensemble_row["ceiling"]
    return ensemble_row["batch_32"] / ceiling if ceiling else float("nan")


def floor_lines(report: dict[str, Any], table: dict[str, Any] | None) -> list[str]:
    checks: list[tuple[str, float | None, float, bool]] = []  # name, value, floor, higher better
    subsets = report["subsets"]
    for subset, floor in FLOORS.items():
        if subset in subsets:
            acc = subsets[subset]["degradations"]["original"]["ensemble"]["accuracy"]
            checks.append((f"{subset} ensemble accuracy", acc, floor, True))
    if "cifake" in subsets:
        members = subsets["cifake"]["degradations"]["original"]["members"]
        for name, floor in MEMBER_FLOORS.items():
            if name in members:
                checks.append(
                    (f"cifake {name} accuracy", members[name].get("accuracy"), floor, True)
                )
    if "wild" in subsets:
        auc = subsets["wild"]["degradations"]["original"]["ensemble"]["roc_auc"]
        checks.append(("wild ensemble ROC-AUC", auc, 0.90, True))
    for subset, entry in subsets.items():
        d = entry["degradations"]
        # The floor names JPEG q75; WebP, as CDNs serve most images, is held to it too.
        for name, label in (("jpeg_q75", "JPEG q75"), ("webp_q75", "WebP q75")):
            if name in d:
                drop = d["original"]["ensemble"]["accuracy"] - d[name]["ensemble"]["accuracy"]
                checks.append((f"{subset} accuracy drop under {label}", drop, 0.02, False))
        original = d["original"]["ensemble"]
        calibrated = original.get("ece_if_calibrated")
        aside = "" if calibrated is None else f" (calibrated, it would read {calibrated:.3f} here)"
        checks.append((f"{subset} ECE{aside}", original["ece"], 0.05, False))
    if table:
        for label, row in table["sets"].items():
            for key, served in (("ensemble", ""), ("ensemble_float32_only", " float32 only")):
                if key in row:
                    checks.append(
                        (
                            f"{label} ensemble{served} batch-32 share of the "
                            f"{row[key]['precision']} FLOP ceiling",
                            share_of_ceiling(row[key]),
                            0.5,
                            True,
                        )
                    )
    lines = ["", "## Floors", "", "| check | measured | floor | met |", "|---|---|---|---|"]
    for name, value, floor, higher in checks:
        met = value is not None and (value >= floor if higher else value <= floor)
        bound = ">=" if higher else "<="
        lines.append(f"| {name} | {_fmt(value)} | {bound} {floor} | {'yes' if met else 'NO'} |")
    return lines


def test_report(artefact: Path, out: Path, limit_per_class: int | None) -> dict[str, Any]:
    """ml.evaluate on every test split; CIFAKE without the 2x upscale (which checks that
    upsampled real photos are not flagged, and would quadruple CIFAKE's cost)."""
    web_subsets = [subset for subset in SUBSETS if subset != "cifake"]
    web = evaluate(
        EvaluateConfig(
            artefact=artefact,
            out_dir=out / "eval_web",
            subsets=web_subsets,
            limit_per_class=limit_per_class,
        )
    )
    cifake = evaluate(
        EvaluateConfig(
            artefact=artefact,
            out_dir=out / "eval_cifake",
            subsets=("cifake",),
            degradations=[d for d in DEGRADATIONS if d != "upscale_2x"],
            limit_per_class=limit_per_class,
        )
    )
    return {**web, "subsets": {**cifake["subsets"], **web["subsets"]}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artefact", type=Path, default=default_ensemble_path())
    parser.add_argument("--out", type=Path, default=Path("artifacts/bench"))
    parser.add_argument("--report", type=Path, help="reuse an ml.evaluate report.json")
    parser.add_argument("--limit-per-class", type=int, help="quick run: test images per class")
    parser.add_argument("--images", type=int, default=64, help="images per throughput set")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--update-card",
        action="store_true",
        help="write the test metrics into the artefact's MODEL_CARD.md",
    )
    args = parser.parse_args(argv)
    # Speed first: measured after the evaluation, in the same process, the CIFAKE ensemble read
    # 36-39 images/s on a 2-core Xeon where a fresh process (or one given --report) read 51-54.
    table = None
    if not args.skip_throughput:
        ensemble = Ensemble.load(args.artefact)
        uses_bf16 = "bf16" in ensemble.precisions.values()
        float32_only = Ensemble.load(args.artefact, allow_bf16=False) if uses_bf16 else None
        table = throughput_table(ensemble, args.images, float32_only=float32_only)
        del ensemble, float32_only
    if args.report:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    else:
        report = test_report(args.artefact, args.out, args.limit_per_class)
    lines = [f"# Benchmark of {report['version']}", *accuracy_lines(report)]
    if table:
        lines += throughput_lines(table)
    lines += floor_lines(report, table)
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.md").write_text(text + "\n", encoding="utf-8")
    (args.out / "bench.json").write_text(
        json.dumps(json_ready({"throughput": table, "evaluation": report}), indent=2),
        encoding="utf-8",
    )
    print(text)
    if args.update_card:
        card = ensemble_card(args.artefact, report, table)
        (args.artefact / "MODEL_CARD.md").write_text(card, encoding="utf-8")


if __name__ == "__main__":
    main()
