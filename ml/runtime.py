"""How a member's network runs when serving: ONNX Runtime (the fastest float32 path on this
CPU, 3-4x eager PyTorch for ResNet-50 on 64x64 crops; see shared/research/CPU_BASELINE.md) or
eager PyTorch. Both compute in float32, so the calibration fit on validation holds for either.

The ONNX graph is exported from the loaded weights on first use and cached on disk, keyed by
the weights' SHA-256 and the torch version, so later loads take milliseconds.
"""

from __future__ import annotations

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
Runner = Callable[[torch.Tensor], np.ndarray]
ONNX_FORMAT_VERSION = "1"


def default_runtime() -> Runtime:
    """`VERITY_ML_RUNTIME` if set; else PyTorch on a GPU, ONNX Runtime on a CPU."""
    configured = os.environ.get("VERITY_ML_RUNTIME") or (
        "torch" if torch.cuda.is_available() else "onnx"
    )
    if configured not in ("onnx", "torch"):
        raise ValueError(f"VERITY_ML_RUNTIME must be onnx or torch, not {configured!r}")
    return "onnx" if configured == "onnx" else "torch"


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
