"""Tokens in the admin: created with the key shown once, revoked with an action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apitokens.models import ApiToken
from apitokens.services import token_create, token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "kind",
        "scopes",
        "owner",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("kind", "revoked_at")
    search_fields = ("name", "prefix", "owner__username")
    fields = (
        "name",
        "kind",
        "scopes",
        "owner",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_tokens",)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = token_create(name=obj.name, scopes=obj.scopes, kind=obj.kind, owner=obj.owner)
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(request, f"Token created. Copy the key now, it is not shown again: {key}")

    @admin.action(description="Revoke selected tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke(token=token)
        messages.success(request, f"Revoked {queryset.count()} token(s).")
