"""The review dashboard: a queue of images worth a person's look, labelled in one click."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from detections.admin import image_thumbnail
from detections.models import Band, Image, Verdict
from review.models import HumanLabel, ReviewLabel
from review.services import review_label_create


class ReviewLabelInline(admin.TabularInline):
    model = ReviewLabel
    extra = 1
    fields = ("label", "note", "reviewer", "created_at")
    readonly_fields = ("reviewer", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # labels are history too: a new label supersedes, nothing is rewritten


@admin.register(ReviewLabel)
class ReviewLabelAdmin(admin.ModelAdmin):
    list_display = ("image", "label", "reviewer", "note", "created_at")
    list_filter = ("label", "reviewer")
    search_fields = ("image__sha256", "note")
    readonly_fields = ("reviewer", "created_at")
    raw_id_fields = ("image",)

    def save_model(self, request: HttpRequest, obj: ReviewLabel, form: Any, change: bool) -> None:
        obj.reviewer = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


class ReviewQueue(Image):
    class Meta:
        proxy = True
        verbose_name = "image to review"
        verbose_name_plural = "review queue"


@admin.register(ReviewQueue)
class ReviewQueueAdmin(admin.ModelAdmin):
    """Images the models flagged or could not decide on, that no person has labelled yet, most
    seen first."""

    list_display = ("preview", "latest_band", "latest_probability", "times_seen", "sha")
    actions = ("label_ai", "label_real", "label_unsure")
    list_per_page = 25

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        latest = Verdict.objects.filter(image_id=OuterRef("pk")).order_by("-created_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_band_value=Subquery(latest.values("band")[:1]),
                latest_probability_value=Subquery(latest.values("probability_ai")[:1]),
                seen=Count("sightings"),
                labelled=Exists(ReviewLabel.objects.filter(image_id=OuterRef("pk"))),
            )
            .filter(labelled=False, latest_band_value__in=[Band.LIKELY_AI, Band.INCONCLUSIVE])
            .order_by("-seen", "-first_seen_at")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Image")
    def preview(self, image: Any) -> str:
        return image_thumbnail(image, 160)

    @admin.display(description="Model says")
    def latest_band(self, image: Any) -> str:
        return str(image.latest_band_value)

    @admin.display(description="P(AI)")
    def latest_probability(self, image: Any) -> str:
        return f"{image.latest_probability_value:.2f}"

    @admin.display(description="Sightings")
    def times_seen(self, image: Any) -> int:
        return int(image.seen)

    @admin.display(description="SHA-256")
    def sha(self, image: Any) -> str:
        return image.sha256[:16] + "…"

    def _label(self, request: HttpRequest, queryset: QuerySet[Any], label: str) -> None:
        for image in queryset:
            review_label_create(image_sha256=image.sha256, label=label, reviewer=request.user)  # type: ignore[arg-type]
        messages.success(request, f"Labelled {queryset.count()} image(s) {label}.")

    @admin.action(description="Label: AI-generated")
    def label_ai(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._label(request, queryset, HumanLabel.AI)

    @admin.action(description="Label: real photo")
    def label_real(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._label(request, queryset, HumanLabel.REAL)

    @admin.action(description="Label: unsure")
    def label_unsure(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._label(request, queryset, HumanLabel.UNSURE)
