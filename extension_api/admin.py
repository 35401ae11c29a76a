from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apitokens.services import token_revoke
from extension_api.models import Install


@admin.register(Install)
class InstallAdmin(admin.ModelAdmin):
    list_display = ("id", "browser", "extension_version", "created_at", "is_active")
    list_filter = ("browser",)
    readonly_fields = ("id", "token", "browser", "extension_version", "created_at")
    actions = ("revoke",)

    @admin.action(description="Revoke the selected installs' tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Install]) -> None:
        for install in queryset.select_related("token"):
            token_revoke(token=install.token)
        messages.success(request, f"Revoked {queryset.count()} install(s).")

    @admin.display(boolean=True)
    def is_active(self, install: Install) -> bool:
        return install.is_active
