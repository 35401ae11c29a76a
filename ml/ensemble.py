"""The served ensemble: members' scores, one calibrated probability, a band, and why.

```python
from ml.ensemble import Ensemble, default_ensemble_path
ensemble = Ensemble.load(default_ensemble_path())
prediction = ensemble.predict([image])[0]   # PIL RGB images, already decoded
```

Every image is scored twice: as given and after a JPEG q85 re-encode. The verdict abstains
(band `inconclusive`, with `abstain_reason`) when no member is in scope, when the members
disagree strongly, or when the re-encode changes the band: a verdict that flips when a platform
recompresses the image is not worth showing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ml.augment import jpeg_roundtrip
from ml.calibration import Band, Combiner
from ml.member import Member, member_logits
from ml.runtime import Precision, Runtime, bf16_allowed, default_runtime

ENSEMBLE_FILE = "ensemble.json"
REENCODE_QUALITY = 85


def default_ensemble_path() -> Path:
    """`VERITY_MODEL_PATH` if set, else the artefact shipped in ml/weights/."""
    configured = os.environ.get("VERITY_MODEL_PATH")
    return Path(configured) if configured else Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class Prediction:
    probability_ai: float  # calibrated P(AI-generated)
    band: Band
    model_scores: dict[str, float | None]  # each member's calibrated P(AI); None = out of scope
    face_found: bool
    abstain_reason: str | None  # "no_model_in_scope", "models_disagree", "unstable_under_jpeg"
    reasons: list[str] = field(default_factory=list)  # for people: why this band
    probability_reencoded: float | None = None  # the same after JPEG q85

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ensemble:
    def __init__(self, version: str, members: list[Member], combiner: Combiner) -> None:
        self.version = version
        self._members = members
        self.combiner = combiner

    @property
    def members(self) -> list[str]:
        return [member.name for member in self._members]

    @property
    def precisions(self) -> dict[str, Precision]:
        """What each member computes in ("fp32", or "bf16" on a CPU with bf16 instructions)."""
        return {member.name: member.precision for member in self._members}

    def member(self, name: str) -> Member:
        for member in self._members:
            if member.name == name:
                return member
        raise KeyError(f"no member {name!r}; members: {', '.join(self.members)}")

    @classmethod
    def load(
        cls, path: Path | str, runtime: Runtime | None = None, allow_bf16: bool | None = None
    ) -> Ensemble:
        """Load an artefact directory (ensemble.json + one checkpoint per member). Local only.
        `runtime`: "onnx" or "torch" (default: `ml.runtime.default_runtime()`); `allow_bf16`:
        members may serve in bf16 where it pays (default: `ml.runtime.bf16_allowed()`)."""
        directory = Path(path)
        manifest = directory / ENSEMBLE_FILE
        if not manifest.is_file():
            raise FileNotFoundError(
                f"{manifest} is missing: {directory} is not a Verity ensemble artefact"
            )
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        combiner = Combiner.from_dict(raw["combiner"])
        chosen = runtime or default_runtime()
        bf16 = bf16_allowed() if allow_bf16 is None else allow_bf16
        members = [Member.load(directory, name, chosen, bf16) for name in combiner.members]
        ensemble = cls(raw["version"], members, combiner)
        ensemble.warm_up()
        return ensemble

    def warm_up(self) -> None:
        """One small and one web-sized image through every member, so that the first real
        request does not pay for lazy initialisation."""
        self.predict([Image.new("RGB", (32, 32), "gray"), Image.new("RGB", (256, 256), "gray")])

    def member_logits(self, images: Sequence[Image.Image]) -> dict[str, np.ndarray]:
        return member_logits(self._members, images)

    def predict(self, images: Sequence[Image.Image]) -> list[Prediction]:
        return self.predict_with_logits(images)[0]

    def predict_with_logits(
        self, images: Sequence[Image.Image]
    ) -> tuple[list[Prediction], dict[str, np.ndarray]]:
        """Predictions, and each member's raw logits for the images as given (for evaluation)."""
        original, copy = score_with_reencode(self._members, images)
        return verdicts(self.combiner, original, copy), original

    def explain(self, image: Image.Image, member: str = "resnet50") -> bytes:
        """Grad-CAM heatmap of one member over the image, as PNG bytes."""
        from ml.gradcam import gradcam_png

        return gradcam_png(self.member(member), image)


def score_with_reencode(
    members: Sequence[Member], images: Sequence[Image.Image]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each member's logits for the images as given and after a JPEG q85 re-encode."""
    images = [image if image.mode == "RGB" else image.convert("RGB") for image in images]
    reencoded = [jpeg_roundtrip(image, REENCODE_QUALITY) for image in images]
    original, copy = {}, {}
    for member in members:
        faces = member.find_faces(images)  # a re-encode moves no face: find them once
        both = member.logits([*images, *reencoded], None if faces is None else faces + faces)
        original[member.name], copy[member.name] = both[: len(images)], both[len(images) :]
    return original, copy


def verdicts(
    combiner: Combiner, original: dict[str, np.ndarray], copy: dict[str, np.ndarray]
) -> list[Prediction]:
    """Predictions from member logits of the images as given and of their re-encoded copies."""
    probability = combiner.probability(original)
    probability_copy = combiner.probability(copy)
    scores = combiner.member_probabilities(original)
    spread = combiner.spread(original)
    return [
        decide(
            combiner,
            float(probability[i]),
            float(probability_copy[i]),
            {name: _score(values[i]) for name, values in scores.items()},
            float(spread[i]),
        )
        for i in range(len(probability))
    ]


def decide(
    combiner: Combiner,
    probability: float,
    probability_copy: float,
    scores: dict[str, float | None],
    spread: float,
) -> Prediction:
    """The band and abstention rules, for one image scored as given and after JPEG q85."""
    band, band_copy = combiner.band(probability), combiner.band(probability_copy)
    in_scope = {name: score for name, score in scores.items() if score is not None}
    reasons = [f"{name}: P(AI) {score:.2f}" for name, score in in_scope.items()]
    abstain = None
    if not in_scope:
        abstain = "no_model_in_scope"
        reasons.append("no member can judge an image of this size or kind")
    elif spread >= combiner.disagreement:
        abstain = "models_disagree"
        reasons.append(f"members' probabilities span {spread:.2f}")
    elif band != "inconclusive" and band_copy != band:
        abstain = "unstable_under_jpeg"
        reasons.append(
            f"P(AI) {probability:.2f} becomes {probability_copy:.2f} after JPEG q85 re-encode"
        )
    return Prediction(
        probability_ai=probability,
        band="inconclusive" if abstain else band,
        model_scores=scores,
        face_found=scores.get("face") is not None,
        abstain_reason=abstain,
        reasons=reasons,
        probability_reencoded=probability_copy,
    )


def _score(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
