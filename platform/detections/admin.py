"""Images, checks and verdicts in the admin (verdicts are read-only: they are history)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from detections.models import Check, CheckItem, Image, Sighting, Verdict


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VerdictInline(ReadOnlyInline):
    model = Verdict
    fields = (
        "created_at",
        "model_version",
        "band",
        "probability_ai",
        "model_scores",
        "face_found",
        "abstain_reason",
    )
    readonly_fields = fields
    ordering = ("-created_at",)


class SightingInline(ReadOnlyInline):
    model = Sighting
    fields = ("url", "page_url", "source", "first_seen_at", "last_seen_at", "times_seen")
    readonly_fields = fields
    max_num = 50


def image_thumbnail(image: Image, size: int = 96) -> str:
    url = reverse("review:image-content", args=[image.sha256])
    return format_html(
        '<img src="{}" style="max-width:{}px;max-height:{}px" alt="">', url, size, size
    )


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("short_sha", "preview", "width", "height", "format", "first_seen_at")
    list_filter = ("format", "verdicts__band")
    search_fields = ("sha256", "phash", "sightings__url")
    readonly_fields = (
        "sha256",
        "large_preview",
        "phash",
        "width",
        "height",
        "format",
        "byte_size",
        "metadata",
        "first_seen_at",
    )
    exclude = ("file",)
    inlines = (VerdictInline, SightingInline)

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type]:
        from review.admin import ReviewLabelInline

        return [*self.inlines, ReviewLabelInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for label in formset.save(commit=False):  # reviewer labels added inline
            if getattr(label, "reviewer_id", "") is None:
                label.reviewer = request.user
            label.save()
        formset.save_m2m()

    @admin.display(description="SHA-256")
    def short_sha(self, image: Image) -> str:
        return image.sha256[:16] + "…"

    @admin.display(description="Image")
    def preview(self, image: Image) -> str:
        return image_thumbnail(image)

    @admin.display(description="Image")
    def large_preview(self, image: Image) -> str:
        return image_thumbnail(image, 480)


class CheckItemInline(ReadOnlyInline):
    model = CheckItem
    fields = (
        "index",
        "url",
        "upload_name",
        "status",
        "cached",
        "image",
        "verdict",
        "error_code",
        "error_message",
        "attempts",
    )
    readonly_fields = fields


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "reference", "status", "created_at", "finished_at")
    list_filter = ("status", "source")
    search_fields = ("id", "reference")
    readonly_fields = ("id", "token", "source", "reference", "status", "created_at", "finished_at")
    inlines = (CheckItemInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Verdict)
class VerdictAdmin(admin.ModelAdmin):
    list_display = (
        "image",
        "band",
        "probability_ai",
        "model_version",
        "face_found",
        "abstain_reason",
        "created_at",
    )
    list_filter = ("band", "model_version", "face_found", "abstain_reason")
    search_fields = ("image__sha256",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
