"""Images keyed by content, where they were seen, the checks clients asked for, and verdicts.

Verdicts are history: a verdict is never changed; a new model version adds a row.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.db import models
from django.db.models import Q

from apitokens.models import ApiToken
from training.models import ModelVersion


class Source(models.TextChoices):
    API = "api", "API client"
    CRAWLER = "crawler", "Crawler"
    EXTENSION = "extension", "Browser extension"


class Band(models.TextChoices):
    LIKELY_REAL = "likely_real", "Likely real"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    LIKELY_AI = "likely_ai", "Likely AI-generated"


def url_digest(url: str) -> str:
    """Equality key for URLs, which may be too long for a plain index."""
    return hashlib.sha256(url.encode()).hexdigest()


def image_file_path(instance: Image, filename: str) -> str:
    return f"images/{instance.sha256[:2]}/{instance.sha256}"


class Image(models.Model):
    sha256 = models.CharField(max_length=64, primary_key=True)
    phash = models.CharField(max_length=32, db_index=True, help_text="Perceptual hash (hex).")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=16)
    byte_size = models.PositiveIntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to=image_file_path, max_length=200, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} {self.width}x{self.height} {self.format}"


class Sighting(models.Model):
    """One image seen at one URL (on one page) by one kind of client."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="sightings")
    url = models.TextField(blank=True, help_text="Empty for uploads without a source URL.")
    url_hash = models.CharField(max_length=64, db_index=True)
    page_url = models.TextField(blank=True)
    page_url_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=Source.choices)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(db_index=True)
    # When the bytes were last fetched from this URL: decides whether a URL's verdict is fresh.
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    times_seen = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["image", "url_hash", "page_url_hash", "source"], name="sighting_unique"
            )
        ]
        indexes = [models.Index(fields=["url_hash", "-last_fetched_at"], name="sighting_fresh")]

    def __str__(self) -> str:
        return f"{self.image_id[:12]} at {self.url or '(upload)'}"


class CheckStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class Check(models.Model):
    """One client request: a batch of images to judge."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token = models.ForeignKey(ApiToken, null=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    reference = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.QUEUED
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"check {self.id} ({self.status})"


class ItemStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    FETCHING = "fetching", "Fetching"
    SCORING = "scoring", "Scoring"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


TERMINAL_ITEM_STATUSES = (ItemStatus.DONE, ItemStatus.FAILED)


class CheckItem(models.Model):
    check_request = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveSmallIntegerField()
    url = models.TextField(blank=True)
    page_url = models.TextField(blank=True)
    alt = models.CharField(max_length=500, blank=True)
    upload = models.FileField(upload_to="staging/", max_length=200, blank=True)
    upload_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.QUEUED)
    cached = models.BooleanField(default=False, help_text="Answered from a verdict already known.")
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL)
    verdict = models.ForeignKey("Verdict", null=True, blank=True, on_delete=models.SET_NULL)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set when a scoring worker takes the item; a stale claim means that worker died.
    claimed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("check_request", "index")
        constraints = [
            models.UniqueConstraint(fields=["check_request", "index"], name="check_item_unique")
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="item_status_age"),
            models.Index(
                fields=["claimed_at"],
                name="item_unclaimed_scoring",
                condition=Q(status="scoring"),
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.index} of {self.check_request_id}: {self.status}"

    @property
    def is_upload(self) -> bool:
        return bool(self.upload)


class Verdict(models.Model):
    """What one model version said about one image. Never updated: history."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="verdicts")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    probability_ai = models.FloatField()
    band = models.CharField(max_length=16, choices=Band.choices)
    model_scores = models.JSONField(default=dict)
    face_found = models.BooleanField(default=False)
    abstain_reason = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["image", "model_version"], name="one_verdict_per_version"
            ),
            models.CheckConstraint(
                condition=Q(probability_ai__gte=0) & Q(probability_ai__lte=1),
                name="probability_in_unit_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.image_id[:12]}: {self.band} ({self.probability_ai:.2f})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Verdicts are history and are never changed; add a new one instead.")
        super().save(*args, **kwargs)


class ScoringWorker(models.Model):
    """A scoring worker's heartbeat: which model version it has loaded (shown by /healthz)."""

    hostname = models.CharField(max_length=200, primary_key=True)
    model_version = models.ForeignKey(ModelVersion, null=True, on_delete=models.SET_NULL)
    loaded_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname
