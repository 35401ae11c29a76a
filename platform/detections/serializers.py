"""Output shapes shared by several views (a verdict looks the same wherever it appears)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from detections.models import Check, CheckItem, Image, Sighting, Verdict


def history_url(sha256: str) -> str:
    return f"{settings.VERITY_PUBLIC_URL.rstrip('/')}/images/{sha256}/"


class VerdictOutputSerializer(serializers.Serializer):
    probability_ai = serializers.FloatField()
    band = serializers.CharField()
    model_version = serializers.CharField(source="model_version.label")
    model_scores = serializers.DictField(child=serializers.FloatField(allow_null=True))
    face_found = serializers.BooleanField()
    abstain_reason = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    image_sha256 = serializers.CharField(source="image_id")
    history_url = serializers.SerializerMethodField()
    human_label = serializers.ChoiceField(
        choices=["real", "ai", "unsure"],
        allow_null=True,
        default=None,
        read_only=True,
        help_text="The newest reviewer label of the image, when a person has judged it.",
    )

    def get_abstain_reason(self, verdict: Verdict) -> str | None:
        return verdict.abstain_reason or None

    def get_history_url(self, verdict: Verdict) -> str:
        return history_url(verdict.image_id)


class ItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CheckItemOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    url = serializers.CharField()
    page_url = serializers.CharField()
    upload_name = serializers.CharField()
    status = serializers.CharField()
    cached = serializers.BooleanField()
    image_sha256 = serializers.CharField(source="image_id", allow_null=True)
    verdict = VerdictOutputSerializer(allow_null=True)
    error = serializers.SerializerMethodField()

    @extend_schema_field(ItemErrorSerializer(allow_null=True))
    def get_error(self, item: CheckItem) -> dict[str, str] | None:
        if not item.error_code:
            return None
        return {"code": item.error_code, "message": item.error_message}


class CheckCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()


class CheckOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.source
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    counts = serializers.SerializerMethodField()
    items = CheckItemOutputSerializer(many=True, source="items.all")

    @extend_schema_field(CheckCountsSerializer)
    def get_counts(self, check: Check) -> dict[str, int]:
        statuses = [item.status for item in check.items.all()]
        done, failed = statuses.count("done"), statuses.count("failed")
        return {
            "total": len(statuses),
            "done": done,
            "failed": failed,
            "pending": len(statuses) - done - failed,
        }


class SightingOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sighting
        fields = ("url", "page_url", "source", "first_seen_at", "last_seen_at", "times_seen")


class ImageOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Image
        fields = (
            "sha256",
            "phash",
            "width",
            "height",
            "format",
            "byte_size",
            "first_seen_at",
            "metadata",
        )


def counts_of(check: Check) -> dict[str, Any]:
    return CheckOutputSerializer().get_counts(check)
