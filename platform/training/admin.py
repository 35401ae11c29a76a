"""Training in the admin: runs with progress and logs, versions with their evaluations and
decisions, the gate, the override (with a written reason), and a side-by-side comparison."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from training.comparison import comparison_context
from training.models import (
    Dataset,
    Evaluation,
    HoldoutSet,
    ModelVersion,
    PromotionDecision,
    Stage,
    TrainingRun,
)
from training.services.promotion import promotion_override
from verity.errors import ApplicationError

SUMMARY_METRICS = ("accuracy", "roc_auc", "f1", "ece")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "source", "counts", "created_at")


@admin.register(HoldoutSet)
class HoldoutSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "subset", "counts", "created_at")


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "status",
        "percent",
        "trigger",
        "device",
        "created_at",
        "duration",
        "model_version",
    )
    list_filter = ("status", "trigger")
    readonly_fields = (
        "id",
        "status",
        "percent",
        "progress_detail",
        "trigger",
        "requested_by",
        "config",
        "dataset",
        "parent_version",
        "device",
        "created_at",
        "started_at",
        "finished_at",
        "artefact_path",
        "artefact_sha256",
        "model_version",
        "error",
        "log_text",
    )
    exclude = ("log", "progress")

    @admin.display(description="Progress")
    def percent(self, run: TrainingRun) -> str:
        return f"{run.progress * 100:.0f}%"

    @admin.display(description="Duration")
    def duration(self, run: TrainingRun) -> str:
        seconds = run.duration_seconds
        return "" if seconds is None else f"{seconds / 60:.1f} min"

    @admin.display(description="Log")
    def log_text(self, run: TrainingRun) -> str:
        return format_html('<pre style="white-space:pre-wrap;max-height:40em">{}</pre>', run.log)


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    extra = 0
    can_delete = False
    fields = ("holdout", "limit_per_class", "summary", "plot_links", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Ensemble on the images as given")
    def summary(self, evaluation: Evaluation) -> str:
        metrics = evaluation.metrics.get("original", {}).get("ensemble", {})
        return ", ".join(
            f"{name} {metrics[name]:.4f}" for name in SUMMARY_METRICS if name in metrics
        )

    @admin.display(description="Plots")
    def plot_links(self, evaluation: Evaluation) -> str:
        return format_html_join(
            " ",
            '<a href="/media/{}">{}</a>',
            ((path, name) for name, path in evaluation.plots.items()),
        )


class DecisionInline(admin.TabularInline):
    model = PromotionDecision
    fk_name = "candidate"
    extra = 0
    can_delete = False
    fields = ("created_at", "outcome", "baseline", "decided_by", "reasons")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OverrideForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Why this candidate goes to production although the gate refused it "
        "(kept in the audit log).",
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("label", "stage", "parent", "created_at", "promoted_at")
    list_filter = ("stage",)
    readonly_fields = (
        "name",
        "version",
        "stage",
        "artefact_path",
        "artefact_sha256",
        "parent",
        "created_at",
        "promoted_at",
        "card",
    )
    exclude = ("model_card",)
    inlines = (EvaluationInline, DecisionInline)
    actions = ("apply_gate", "compare")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Model card")
    def card(self, version: ModelVersion) -> str:
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', version.model_card)

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "compare/",
                self.admin_site.admin_view(self.compare_view),
                name="training_modelversion_compare",
            ),
            path(
                "<int:pk>/override/",
                self.admin_site.admin_view(self.override_view),
                name="training_modelversion_override",
            ),
        ]
        return own + super().get_urls()

    @admin.action(description="Apply the promotion gate (evaluates on every holdout set)")
    def apply_gate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        from workers.celery import app

        for version in queryset.filter(stage=Stage.CANDIDATE):
            app.send_task(
                "workers.train_tasks.apply_promotion_gate_task", args=[version.pk], queue="train"
            )
        messages.info(request, "Queued on the train queue; decisions appear on each version.")

    @admin.action(description="Compare two versions side by side")
    def compare(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> HttpResponse:
        if queryset.count() != 2:
            messages.error(request, "Select exactly two versions to compare.")
            return HttpResponseRedirect(request.get_full_path())
        first, second = queryset.order_by("created_at")
        url = reverse("admin:training_modelversion_compare")
        return HttpResponseRedirect(f"{url}?a={first.pk}&b={second.pk}")

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        first = get_object_or_404(ModelVersion, pk=request.GET.get("a"))
        second = get_object_or_404(ModelVersion, pk=request.GET.get("b"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Compare model versions",
            **comparison_context(first, second),
        }
        return render(request, "admin/training/compare.html", context)

    def override_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ModelVersion, pk=pk)
        form = OverrideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                promotion_override(
                    candidate=version,
                    user=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.warning(request, f"{version} promoted over the gate (audit-logged).")
                return HttpResponseRedirect(
                    reverse("admin:training_modelversion_change", args=[pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "version": version,
            "title": f"Promote {version} over the gate",
        }
        return render(request, "admin/training/override.html", context)


@admin.register(PromotionDecision)
class PromotionDecisionAdmin(ReadOnlyAdmin):
    list_display = ("candidate", "outcome", "baseline", "decided_by", "created_at")
    list_filter = ("outcome",)
