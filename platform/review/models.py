"""Reviewers' labels: people's judgement beside the models', and training data."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from detections.models import Image


class HumanLabel(models.TextChoices):
    REAL = "real", "Real photo"
    AI = "ai", "AI-generated"
    UNSURE = "unsure", "Unsure"


class ReviewLabel(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="review_labels")
    label = models.CharField(max_length=8, choices=HumanLabel.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.image_id[:12]}: {self.label}"
