"""How a member's network runs when serving: ONNX Runtime (the fastest float32 path on this
CPU, 3-4x eager PyTorch for ResNet-50 on 64x64 crops; see shared/research/CPU_BASELINE.md) or
eager PyTorch, both in float32. On a CPU with bf16 instructions (AMX tiles on Sapphire Rapids
and later Xeons, AVX-512 BF16 on AMD Zen 4 and later), ResNet-50 and InceptionV3 run in bf16
instead, for calls large enough to pay (`VERITY_ML_BF16=auto`, the default; `off` keeps float32
everywhere): on a 2-core Sapphire Rapids Xeon they score 32 px crops about 2x faster than ONNX
Runtime's float32 (ResNet-50 1.7 against 3.3 ms per crop, 64 a call), on a 2-core AMD EPYC
(Zen 4) about 1.5x. The EfficientNets' depthwise convolutions and the small CNN gain nothing or
drift (logits by 0.04-0.05), so they stay in float32; a CPU without such instructions emulates
bf16 (24x slower on an AMD EPYC without AVX-512) and never uses it. The ensemble's P(AI) moved
by at most 0.0033 on validation (ml/README.md): the calibration holds.

The ONNX graph is exported from the loaded weights on first use and cached on disk, keyed by
the weights' SHA-256 and the torch version, so later loads take milliseconds.
"""

from __future__ import annotations

import copy
import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

Runtime = Literal["onnx", "torch"]
Precision = Literal["fp32", "bf16"]
# A CPU's bf16 instructions, named by the flag Linux lists for them.
Bf16Unit = Literal["amx_bf16", "avx512_bf16"]
BF16_UNITS: tuple[Bf16Unit, ...] = ("amx_bf16", "avx512_bf16")  # fastest first
Runner = Callable[[torch.Tensor], np.ndarray]
ONNX_FORMAT_VERSION = "1"
# Dense-convolution architectures, the only ones measured faster in bf16 (see above).
BF16_ARCHITECTURES = frozenset({"resnet50", "inception_v3"})
# Below this many views a call, oneDNN's fixed cost per call outweighs what bf16 saves, and
# float32 answers sooner. ResNet-50, 32 px crops, ms per crop in bf16 against ONNX Runtime's
# float32: AMX (2-core Sapphire Rapids) 4 views 5.5 / 4.1, 8 views 3.4 / 3.8, 64 views 1.7 / 3.3;
# AVX-512 BF16 (2-core AMD EPYC, Zen 4) 8 views 5.3 / 3.8, 12 views 3.2 / 4.1, 64 views
# 2.3 / 3.4 (InceptionV3 breaks even at 8 views there too).
BF16_MIN_BATCH: dict[Bf16Unit, int] = {"amx_bf16": 8, "avx512_bf16": 12}


def default_runtime() -> Runtime:
    """`VERITY_ML_RUNTIME` if set; else PyTorch on a GPU, ONNX Runtime on a CPU."""
    configured = os.environ.get("VERITY_ML_RUNTIME") or (
        "torch" if torch.cuda.is_available() else "onnx"
    )
    if configured not in ("onnx", "torch"):
        raise ValueError(f"VERITY_ML_RUNTIME must be onnx or torch, not {configured!r}")
    return "onnx" if configured == "onnx" else "torch"


def cpu_bf16_unit(cpuinfo: Path = Path("/proc/cpuinfo")) -> Bf16Unit | None:
    """The CPU's fastest bf16 instructions that the kernel lets programs use (Linux lists only
    those in its flags; on other systems this reads None and members stay in float32)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()
    flags = {word for line in lines if line.startswith("flags") for word in line.split()}
    return next((unit for unit in BF16_UNITS if unit in flags), None)


def bf16_allowed() -> bool:
    """`VERITY_ML_BF16`: `auto` (the default) lets members serve in bf16 where it pays, `off`
    keeps every member in float32."""
    setting = os.environ.get("VERITY_ML_BF16", "auto")
    if setting not in ("auto", "off"):
        raise ValueError(f"VERITY_ML_BF16 must be auto or off, not {setting!r}")
    return setting == "auto"


def serving_precision(architecture: str, allow_bf16: bool, unit: Bf16Unit | None) -> Precision:
    """bf16 for a dense-convolution member on a CPU with bf16 instructions (`unit`, from
    `cpu_bf16_unit`), when allowed; float32 otherwise, and always on a GPU, where members run
    as trained."""
    if not allow_bf16 or architecture not in BF16_ARCHITECTURES or torch.cuda.is_available():
        return "fp32"
    return "fp32" if unit is None else "bf16"


def onnx_cache_dir() -> Path:
    configured = os.environ.get("VERITY_ONNX_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "verity" / "onnx"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def torch_runner(model: nn.Module) -> Runner:
    """Eager PyTorch on whatever device the model is on."""

    def run(batch: torch.Tensor) -> np.ndarray:
        device = next(model.parameters()).device
        with torch.inference_mode():
            return model(batch.to(device)).float().cpu().numpy()

    return run


def bf16_runner(model: nn.Module) -> Runner:
    """Eager PyTorch on the CPU with a bf16 copy of the weights, channels-last (the layout
    oneDNN's bf16 kernels want); logits come back in float32. A copy cast once: autocast would
    cast the weights again on every call (ResNet-50, 16 crops: 2.9 against 2.3 ms per crop)."""
    bf16_model = copy.deepcopy(model).to(torch.bfloat16).to(memory_format=torch.channels_last)

    def run(batch: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            inputs = batch.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
            return bf16_model(inputs).float().numpy()

    return run


def by_batch_size(small: Runner, large: Runner, threshold: int) -> Runner:
    """`large` for batches of at least `threshold` views, `small` for smaller ones."""

    def run(batch: torch.Tensor) -> np.ndarray:
        return (large if len(batch) >= threshold else small)(batch)

    return run


def export_onnx(model: nn.Module, example_side: int, path: Path) -> None:
    """Export with a dynamic batch and image size (trace members see several sizes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, 3, example_side, example_side)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing are expected here
        torch.onnx.export(
            model,
            (example,),
            str(partial),
            input_names=["images"],
            output_names=["logits"],
            dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}},
            opset_version=18,
            dynamo=False,
        )
    partial.replace(path)  # atomic: a concurrent loader never reads half a file


def onnx_runner(model: nn.Module, weights: Path, example_side: int) -> Runner:
    import onnxruntime

    key = f"{file_digest(weights)[:24]}-torch{torch.__version__}-v{ONNX_FORMAT_VERSION}"
    path = onnx_cache_dir() / f"{weights.stem}-{key}.onnx"
    if not path.is_file():
        export_onnx(model, example_side, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    # Each member has its own session and thread pool; a pool that spins after its call keeps
    # a core busy while the next member runs. Without spinning, on a 2-core Sapphire Rapids
    # Xeon: the ensemble scored a 32 px image alone in 37 ms instead of 102, and CIFAKE
    # batches of 32 at 54.8 images/s instead of 41.0.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(batch: torch.Tensor) -> np.ndarray:
        (logits,) = session.run(None, {"images": batch.numpy()})
        return np.asarray(logits, dtype=np.float32)

    return run
