"""The training app's records: datasets and holdout sets (immutable manifests of SHA-256s),
training runs, model versions, their evaluations, and every promotion decision (audit log)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Stage(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


class Label(models.IntegerChoices):
    REAL = 0, "real"
    AI = 1, "AI-generated"


class ImmutableModel(models.Model):
    """Snapshots and manifests are written once: a change means a new version."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} is immutable; create a new version instead.")
        super().save(*args, **kwargs)


class DatasetSource(models.TextChoices):
    SHARDS = "shards", "Tar shards under VERITY_DATA_DIR"
    REVIEWS = "reviews", "Reviewer labels from the database"


class Dataset(ImmutableModel):
    """A training snapshot: which images (by SHA-256) with which label."""

    name = models.CharField(max_length=80)
    version = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=DatasetSource.choices)
    description = models.TextField(blank=True)
    counts = models.JSONField(default=dict, help_text="Images per label.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "-version")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="dataset_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class DatasetImage(ImmutableModel):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    sha256 = models.CharField(max_length=64, db_index=True)
    label = models.PositiveSmallIntegerField(choices=Label.choices)
    origin = models.CharField(max_length=300, help_text="Shard member, or the reviewed image.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "sha256"], name="dataset_image_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} in {self.dataset_id}"


class HoldoutSet(ImmutableModel):
    """A fixed, versioned evaluation set. Its images can never enter a training snapshot."""

    name = models.CharField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    dataset = models.CharField(
        max_length=40, blank=True, help_text="Shard data set it reads (cifake, faces, wild)."
    )
    subset = models.CharField(max_length=40, blank=True)
    counts = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "-version")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="holdout_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class HoldoutImage(ImmutableModel):
    holdout = models.ForeignKey(HoldoutSet, on_delete=models.CASCADE, related_name="images")
    sha256 = models.CharField(max_length=64, db_index=True)
    label = models.PositiveSmallIntegerField(choices=Label.choices)
    origin = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["holdout", "sha256"], name="holdout_image_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} in {self.holdout_id}"


class ModelVersion(models.Model):
    name = models.CharField(max_length=80)
    version = models.CharField(max_length=32, help_text="Semantic version, e.g. 1.2.0")
    artefact_path = models.CharField(max_length=500)
    artefact_sha256 = models.CharField(max_length=64, help_text="Digest of every artefact file.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CANDIDATE)
    model_card = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["stage"],
                condition=Q(stage="production"),
                name="one_production_model_version",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Started by a person"
    SCHEDULED = "scheduled", "Periodic retraining"


class TrainingRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    config = models.JSONField(default=dict)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT)
    parent_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0 to 1")
    progress_detail = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True)
    device = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    artefact_path = models.CharField(max_length=500, blank=True)
    artefact_sha256 = models.CharField(max_length=64, blank=True)
    model_version = models.OneToOneField(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_run"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"run {str(self.id)[:8]} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Evaluation(models.Model):
    """One model version measured on one holdout set, under every degradation."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="evaluations"
    )
    holdout = models.ForeignKey(HoldoutSet, on_delete=models.PROTECT, related_name="evaluations")
    limit_per_class = models.PositiveIntegerField(
        default=0,
        help_text="Images per label measured (0: the whole set); only equal limits compare.",
    )
    metrics = models.JSONField(help_text="{degradation: {metric: value}}")
    curves = models.JSONField(default=dict, blank=True, help_text="ROC points for the plots.")
    plots = models.JSONField(default=dict, blank=True, help_text="{name: media path of a PNG}")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("holdout__name",)
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "holdout", "limit_per_class"],
                name="one_evaluation_per_holdout",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_version} on {self.holdout}"


class Outcome(models.TextChoices):
    PROMOTED = "promoted", "Promoted by the gate"
    REFUSED = "refused", "Refused by the gate"
    OVERRIDDEN = "overridden", "Promoted by an admin over the gate"


class PromotionDecision(ImmutableModel):
    """Why a candidate was or was not promoted: the audit log of the gate and of overrides."""

    candidate = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="decisions")
    baseline = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reasons = models.JSONField(default=list)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    override_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.candidate}: {self.outcome}"
