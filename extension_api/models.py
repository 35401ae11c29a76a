"""Extension installs: each install registers once and gets a token of its own."""

from __future__ import annotations

import uuid

from django.db import models

from apitokens.models import ApiToken


class Install(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token = models.OneToOneField(ApiToken, on_delete=models.CASCADE, related_name="install")
    extension_version = models.CharField(max_length=32, blank=True)
    browser = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"install {self.id} ({self.browser} {self.extension_version})"

    @property
    def is_active(self) -> bool:
        return self.token.revoked_at is None
