"""API tokens: the key is shown once at creation and only its SHA-256 is stored."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models


class TokenKind(models.TextChoices):
    API = "api", "API client"
    CRAWLER = "crawler", "Crawler"
    EXTENSION = "extension", "Browser extension"


class Scope(models.TextChoices):
    SUBMIT = "submit", "Submit images for checking"
    READ = "read", "Read verdicts and history"
    REVIEW = "review", "Label images as a reviewer"


class ApiToken(models.Model):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=TokenKind.choices, default=TokenKind.API)
    scopes = models.JSONField(default=list, help_text="Any of: submit, read, review.")
    # The first characters of the key, to recognise a token in lists and logs without its secret.
    prefix = models.CharField(max_length=16, unique=True)
    # SHA-256 of the whole key. Keys carry 256 random bits, so a fast hash is as safe as a slow one.
    key_hash = models.CharField(max_length=64, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        cache.delete(token_cache_key(self.key_hash))  # a changed scope applies at once

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def token_cache_key(key_hash: str) -> str:
    """Where a token is cached by the hash of its key (see ``apitokens.services``)."""
    return f"apitoken:{key_hash}"
