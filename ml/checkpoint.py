"""Checkpoints: `<member>.safetensors` + `<member>.json` (the config that made it, preprocessing
included) + `<member>.md` (model card). Loading reads local files only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ml.models import create_detector
from ml.preprocess import Preprocessing


@dataclass
class DetectorConfig:
    member: str  # role in the ensemble: "cnn", "resnet50", "face", ...
    architecture: str  # name in the registry
    arch_kwargs: dict[str, Any]
    preprocessing: Preprocessing
    training: dict[str, Any] = field(default_factory=dict)  # data, recipe, seed, date
    metrics: dict[str, Any] = field(default_factory=dict)  # on the validation split
    face_finder: dict[str, Any] | None = None  # face_crops policy: the FaceFinder's settings

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "architecture": self.architecture,
            "arch_kwargs": self.arch_kwargs,
            "preprocessing": self.preprocessing.to_dict(),
            "training": self.training,
            "metrics": self.metrics,
            "face_finder": self.face_finder,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DetectorConfig:
        return cls(
            member=raw["member"],
            architecture=raw["architecture"],
            arch_kwargs=raw["arch_kwargs"],
            preprocessing=Preprocessing.from_dict(raw["preprocessing"]),
            training=raw.get("training", {}),
            metrics=raw.get("metrics", {}),
            face_finder=raw.get("face_finder"),
        )

    def build(self) -> nn.Module:
        return create_detector(self.architecture, **self.arch_kwargs)


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def _state_for_saving(model: nn.Module, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {
        name: (tensor.to(dtype) if tensor.is_floating_point() else tensor).contiguous()
        for name, tensor in model.state_dict().items()
    }


def save_checkpoint(
    directory: Path,
    model: nn.Module,
    config: DetectorConfig,
    card: str,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write weights (in `dtype`: float16 to ship), config and card; return the weights path."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{config.member}.safetensors"
    save_file(_state_for_saving(model, dtype), str(weights), metadata={"member": config.member})
    config_path = directory / f"{config.member}.json"
    config_path.write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    (directory / f"{config.member}.md").write_text(card, encoding="utf-8")
    return weights


def load_config(directory: Path, member: str) -> DetectorConfig:
    path = directory / f"{member}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: not a checkpoint of member {member!r}")
    return DetectorConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))


def load_checkpoint(directory: Path, member: str) -> tuple[nn.Module, DetectorConfig]:
    """The model (float32, eval mode) and its config, from `directory/<member>.*`."""
    config = load_config(directory, member)
    weights = directory / f"{member}.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing")
    model = config.build()
    state = {
        name: tensor.float() if tensor.is_floating_point() else tensor
        for name, tensor in load_file(str(weights)).items()
    }
    model.load_state_dict(state, strict=True)
    return model.eval(), config
