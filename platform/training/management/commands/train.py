"""``manage.py train``: start a training run from the terminal (progress bars on stderr)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.models import Dataset, ModelVersion, RunStatus
from training.services.runs import RunOptions, training_run_create, training_run_execute
from verity.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Train members, assemble a candidate ensemble, evaluate it on every holdout set and apply "
        "the promotion gate. Runs here with progress bars (default), or on the train queue "
        "(--queue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", default="cnn", help="Comma-separated members to train.")
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--limit-per-class", type=int, help="Small runs: images per class.")
        parser.add_argument("--max-steps", type=int, help="Steps per epoch at most.")
        parser.add_argument(
            "--eval-limit-per-class", type=int, default=0, help="Holdout images per label (0: all)."
        )
        parser.add_argument("--degradations", help="Comma-separated (default: all).")
        parser.add_argument(
            "--dataset", help="NAME:VERSION of a snapshot of extra labelled images."
        )
        parser.add_argument("--parent", help="NAME-VERSION to fine-tune from (default production).")
        parser.add_argument("--device", default="auto")
        parser.add_argument("--queue", action="store_true", help="Queue it on the train worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        run_options = RunOptions(
            members=[m.strip() for m in options["members"].split(",") if m.strip()],
            epochs=options["epochs"],
            limit_per_class=options["limit_per_class"],
            max_steps=options["max_steps"],
            eval_limit_per_class=options["eval_limit_per_class"],
            degradations=options["degradations"].split(",") if options["degradations"] else None,
            device=options["device"],
        )
        try:
            run = training_run_create(
                options=run_options,
                dataset=_dataset(options["dataset"]),
                parent=_version(options["parent"]),
                enqueue=options["queue"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if options["queue"]:
            self.stdout.write(f"Queued training run {run.pk} on the train queue.")
            return
        finished = training_run_execute(run_id=str(run.pk))
        assert finished is not None
        self.stdout.write(finished.log.split("\n", 1)[-1][-3000:])
        if finished.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} failed: {finished.error}")
        seconds = finished.duration_seconds or 0
        done = f"Run {run.pk} produced {finished.model_version} in {seconds:.0f} s."
        self.stdout.write(self.style.SUCCESS(done))


def _dataset(spec: str | None) -> Dataset | None:
    if not spec:
        return None
    name, _, version = spec.partition(":")
    found = Dataset.objects.filter(name=name, version=int(version or 1)).first()
    if found is None:
        raise CommandError(f"No dataset {spec}.")
    return found


def _version(label: str | None) -> ModelVersion | None:
    if not label:
        return None
    name, _, version = label.rpartition("-")
    found = ModelVersion.objects.filter(name=name, version=version).first()
    if found is None:
        raise CommandError(f"No model version {label}.")
    return found
