"""Training runs: created by a person, the CLI or the schedule; executed on the ``train`` queue
through ``ml`` (train each member, assemble, evaluate, gate), with progress and a log."""

from __future__ import annotations

import logging
import shutil
import socket
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from detections.models import Image
from notifications.services import notify
from training.artefacts import artefact_digest, read_identity
from training.models import (
    Dataset,
    ModelVersion,
    PromotionDecision,
    RunStatus,
    RunTrigger,
    Stage,
    TrainingRun,
)
from training.services.datasets import holdout_register_reviewed, holdouts_register_from_shards
from training.services.promotion import promotion_decide
from verity.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

TRAIN_TASK = "workers.train_tasks.execute_training_run_task"
MEMBER_FILES = (".safetensors", ".json", ".md")
# Progress is written at most this often: a fast loop must not turn into a stream of UPDATEs.
PROGRESS_INTERVAL_SECONDS = 1.0


@dataclass
class RunOptions:
    members: list[str] = field(default_factory=lambda: ["cnn"])  # retrained; others are copied
    epochs: int | None = None  # None: each recipe's own
    limit_per_class: int | None = None  # small runs: training images per subset and label
    max_steps: int | None = None
    eval_limit_per_class: int = 0  # 0: whole holdout sets
    degradations: list[str] | None = None  # None: all of ml.evaluate's
    device: str = "auto"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunOptions:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def training_run_create(
    *,
    options: RunOptions,
    dataset: Dataset | None = None,
    parent: ModelVersion | None = None,
    trigger: str = RunTrigger.MANUAL,
    requested_by: User | None = None,
    enqueue: bool = True,
) -> TrainingRun:
    """Record a run and (unless the caller runs it itself) queue it on the ``train`` queue."""
    from ml.recipes import RECIPES

    unknown = sorted(set(options.members) - set(RECIPES))
    if unknown:
        raise ApplicationError("unknown_member", f"No recipe for: {', '.join(unknown)}.")
    run = TrainingRun.objects.create(
        config=asdict(options),
        dataset=dataset,
        trigger=trigger,
        requested_by=requested_by,
        parent_version=parent or ModelVersion.objects.filter(stage=Stage.PRODUCTION).first(),
    )

    def send() -> None:
        from workers.celery import app

        app.send_task(TRAIN_TASK, args=[str(run.pk)], queue="train")

    if enqueue:
        transaction.on_commit(send)
    return run


def training_run_execute(*, run_id: str) -> TrainingRun | None:
    """Run a queued run to its end; a redelivered task finds it claimed and does nothing."""
    claimed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), device=_device_name()
    )
    if not claimed:
        return None
    run = TrainingRun.objects.get(pk=run_id)
    recorder = ProgressRecorder(run)
    try:
        candidate = _train_and_register(run, recorder)
        recorder.line("measuring on every holdout set")
        holdouts_register_from_shards()
        holdout_register_reviewed()
        decision = promotion_decide(
            candidate=candidate,
            limit_per_class=RunOptions.from_dict(run.config).eval_limit_per_class,
            degradations=RunOptions.from_dict(run.config).degradations,
            progress=recorder.evaluation,
        )
        recorder.line(f"gate: {decision.outcome}")
        for reason in decision.reasons:
            recorder.line(f"  {reason}")
        _finish(run, RunStatus.SUCCEEDED, recorder)
        _announce(run, candidate, decision)
    except Exception as error:  # any failure ends the run with its reason kept for people
        recorder.line(traceback.format_exc())
        run.error = f"{type(error).__name__}: {error}"
        _finish(run, RunStatus.FAILED, recorder)
        logger.exception("training run %s failed", run.pk)
    run.refresh_from_db()
    return run


def _train_and_register(run: TrainingRun, recorder: ProgressRecorder) -> ModelVersion:
    from ml.assemble import AssembleConfig, assemble
    from ml.train import TrainConfig, train

    options = RunOptions.from_dict(run.config)
    workdir = Path(settings.VERITY_ARTEFACT_DIR) / "runs" / str(run.pk)
    extra = _dataset_samples(run.dataset)
    recorder.line(f"run {run.pk}: members {options.members}, {len(extra)} reviewed images")
    parent_dir = Path(run.parent_version.artefact_path) if run.parent_version else None
    for index, member in enumerate(options.members):
        recorder.member(index, len(options.members), member)
        has_parent = parent_dir is not None and (parent_dir / f"{member}.safetensors").is_file()
        train(
            TrainConfig(
                member=member,
                out_dir=workdir / "members",
                extra_samples=extra,
                parent=parent_dir if has_parent else None,
                epochs=options.epochs,
                limit_per_class=options.limit_per_class,
                max_steps=options.max_steps,
                device=options.device,
            ),
            progress=recorder.training,
        )
    members = _copy_untrained_members(parent_dir, workdir / "members", options.members)
    label = _next_label(run.parent_version)
    recorder.line(f"assembling {label} from {members}")
    artefact = assemble(
        AssembleConfig(
            members=members,
            runs=workdir / "members",
            out_dir=workdir / "ensemble",
            version=label,
            limit_per_class=options.limit_per_class,
        )
    )
    return _register_candidate(run, artefact)


def _dataset_samples(dataset: Dataset | None) -> list[tuple[Path, int]]:
    if dataset is None:
        return []
    labels = dict(dataset.images.values_list("sha256", "label"))
    images = Image.objects.filter(pk__in=list(labels)).exclude(file="")
    return [(Path(image.file.path), labels[image.pk]) for image in images]


def _copy_untrained_members(
    parent_dir: Path | None, members_dir: Path, trained: list[str]
) -> list[str]:
    """The parent's other members join the new ensemble unchanged."""
    names = list(trained)
    if parent_dir is None:
        return names
    for checkpoint in sorted(parent_dir.glob("*.safetensors")):
        name = checkpoint.stem
        if name in names:
            continue
        target = members_dir / name
        target.mkdir(parents=True, exist_ok=True)
        for suffix in MEMBER_FILES:
            source = parent_dir / f"{name}{suffix}"
            if source.is_file():
                shutil.copy2(source, target / source.name)
        names.append(name)
    return names


def _next_label(parent: ModelVersion | None) -> str:
    """The parent's name with the next free minor version (1.2.0 -> 1.3.0)."""
    name = parent.name if parent else "verity-ensemble"
    major, minor = 0, 0
    if parent is not None:
        parts = ([*parent.version.split("."), "0", "0"])[:2]
        major, minor = int(parts[0]), int(parts[1])
    while True:
        minor += 1
        version = f"{major}.{minor}.0"
        if not ModelVersion.objects.filter(name=name, version=version).exists():
            return f"{name}-{version}"


def _register_candidate(run: TrainingRun, artefact: Path) -> ModelVersion:
    identity = read_identity(artefact)
    final = Path(settings.VERITY_ARTEFACT_DIR) / "versions" / f"{identity.name}-{identity.version}"
    if final.exists():
        shutil.rmtree(final)
    shutil.move(str(artefact), final)
    digest = artefact_digest(final)
    candidate = ModelVersion.objects.create(
        name=identity.name,
        version=identity.version,
        artefact_path=str(final),
        artefact_sha256=digest,
        parent=run.parent_version,
        stage=Stage.CANDIDATE,
        model_card=identity.model_card,
    )
    TrainingRun.objects.filter(pk=run.pk).update(
        artefact_path=str(final), artefact_sha256=digest, model_version=candidate
    )
    return candidate


def _finish(run: TrainingRun, status: str, recorder: ProgressRecorder) -> None:
    recorder.flush()
    TrainingRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=timezone.now(),
        error=run.error,
        progress=1.0 if status == RunStatus.SUCCEEDED else F("progress"),
    )


def _announce(run: TrainingRun, candidate: ModelVersion, decision: PromotionDecision) -> None:
    lines = [f"Training run {run.pk} produced {candidate.label}: {decision.outcome}.", ""]
    lines += decision.reasons
    notify(
        subject=f"Verity: {candidate.label} {decision.outcome}",
        text="\n".join(lines),
        event="training.decision",
        payload={
            "run": str(run.pk),
            "candidate": candidate.label,
            "outcome": decision.outcome,
            "reasons": decision.reasons,
        },
        emails=settings.VERITY_TRAINING_NOTIFY_EMAILS,
        webhooks=settings.VERITY_TRAINING_NOTIFY_WEBHOOKS,
    )


def _device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {socket.gethostname()} ({torch.get_num_threads()} threads)"


class ProgressRecorder:
    """Turns ``ml`` progress events into the run's progress (0-1), detail and log."""

    TRAINING_SHARE = 0.8  # the rest is assembling and evaluating

    def __init__(self, run: TrainingRun) -> None:
        self.run = run
        self.lines: list[str] = []
        self.progress = 0.0
        self.detail: dict[str, Any] = {}
        self._member = (0, 1, "")
        self._epochs = 1
        self._written_at = 0.0

    def line(self, text: str) -> None:
        self.lines.append(text)
        self._save(force=True)

    def member(self, index: int, total: int, name: str) -> None:
        from ml.recipes import RECIPES

        options = RunOptions.from_dict(self.run.config)
        self._member = (index, total, name)
        self._epochs = options.epochs or RECIPES[name].epochs
        self.line(f"training {name} ({index + 1}/{total}), up to {self._epochs} epochs")

    def training(self, event: dict[str, Any]) -> None:
        index, total, name = self._member
        epoch = event.get("epoch", self._epochs)
        within = (epoch - 1 + event.get("step", 0) / max(event.get("steps", 1), 1)) / self._epochs
        kind = event.get("event")
        if kind == "parent":
            self.lines.append(f"{name} as it starts (the parent): val {_brief(event['val'])}")
        elif kind == "epoch":
            within = epoch / self._epochs
            self.lines.append(
                f"{name} epoch {epoch}: train loss {event['train_loss']:.4f}, "
                f"val {_brief(event.get('val', {}))}"
            )
        elif kind == "done" and event.get("best_epoch") == 0:
            self.lines.append(f"{name}: no epoch beat the parent on validation; kept its weights")
        self.progress = self.TRAINING_SHARE * (index + min(within, 1.0)) / total
        self.detail = {"stage": "training", "member": name, **_scalars(event)}
        self._save(force=kind != "step")

    def evaluation(self, event: dict[str, Any]) -> None:
        self.detail = {"stage": "evaluating", **_scalars(event)}
        self.lines.append(f"evaluated {event.get('subset')} / {event.get('degradation')}")
        self.progress = max(self.progress, self.TRAINING_SHARE)
        self._save(force=False)

    def flush(self) -> None:
        self._save(force=True)

    def _save(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._written_at < PROGRESS_INTERVAL_SECONDS:
            return
        self._written_at = now
        TrainingRun.objects.filter(pk=self.run.pk).update(
            progress=round(self.progress, 4),
            progress_detail=self.detail,
            log="\n".join(self.lines[-2000:]),
        )


def _scalars(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if isinstance(v, (int, float, str))}


def _brief(val: dict[str, Any]) -> str:
    """`ml.train.validate`'s report in a line: the pooled loss, then each subset's figures."""
    parts = [f"loss {val['loss']:.4f}"] if isinstance(val.get("loss"), float) else []
    for subset, entry in sorted(val.items()):
        if isinstance(entry, dict):
            parts.append(f"{subset} accuracy {entry['accuracy']:.4f} auc {entry['roc_auc']:.4f}")
    return ", ".join(parts)
