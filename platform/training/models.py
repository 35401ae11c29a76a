"""Model versions: which trained ensemble said what."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Stage(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


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
