"""The public API: one view per action, each with its own small input serializer.

Views only translate HTTP to service and selector calls; the rules live in ``services`` and
``selectors``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apitokens.models import ApiToken
from apitokens.permissions import CanRead, CanSubmit
from detections import selectors
from detections.models import Band, Check, CheckStatus, Source
from detections.serializers import (
    CheckOutputSerializer,
    ImageOutputSerializer,
    SightingOutputSerializer,
    VerdictOutputSerializer,
)
from detections.services.checks import UploadItem, UrlItem, check_create
from review.apis import ReviewLabelOutputSerializer
from review.selectors import review_labels
from verity.errors import ApplicationError
from verity.pagination import NewestFirstCursorPagination

MAX_URL_LENGTH = 4096


class CheckItemInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=MAX_URL_LENGTH)
    page_url = serializers.CharField(max_length=MAX_URL_LENGTH, required=False, allow_blank=True)
    alt = serializers.CharField(max_length=500, required=False, allow_blank=True)


class CheckCreateApi(APIView):
    permission_classes = (CanSubmit,)
    throttle_scope = "submit"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CheckCreateInput"

        items = CheckItemInputSerializer(many=True, required=False, default=list)
        reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
        images = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True), required=False, default=list
        )
        page_url = serializers.CharField(
            max_length=MAX_URL_LENGTH,
            required=False,
            allow_blank=True,
            help_text="Multipart only: the page the uploaded images come from.",
        )

    @extend_schema(
        operation_id="checks_create",
        summary="Check images (URLs and/or uploads)",
        description=(
            'JSON `{"items": [{"url", "page_url", "alt"}], "reference"}` or multipart with '
            "`images` files (plus optional `items` as a JSON string, `page_url`, `reference`). "
            "Items already judged by the production model version are answered at once. "
            "Answers 202 while some items are pending, 200 when all are answered."
        ),
        request={
            "application/json": InputSerializer,
            "multipart/form-data": InputSerializer,
        },
        responses={200: CheckOutputSerializer, 202: CheckOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = (
            _form_to_dict(request)
            if request.content_type.startswith("multipart/")
            else request.data
        )
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        payload = serializer.validated_data
        token = request.auth
        assert isinstance(token, ApiToken)
        check = check_create(
            token=token,
            source=token.kind,
            reference=payload.get("reference", ""),
            urls=[UrlItem(**item) for item in payload["items"]],
            uploads=[
                UploadItem(file=f, page_url=payload.get("page_url", "")) for f in payload["images"]
            ],
        )
        check = selectors.check_get(check_id=str(check.pk))
        code = status.HTTP_200_OK if check.status == CheckStatus.DONE else status.HTTP_202_ACCEPTED
        return Response(CheckOutputSerializer(check).data, status=code)


def _form_to_dict(request: Request) -> dict[str, Any]:
    form: Any = request.data  # a QueryDict for multipart bodies
    data: dict[str, Any] = {
        key: form.get(key) for key in ("reference", "page_url") if form.get(key) is not None
    }
    data["images"] = request.FILES.getlist("images")
    raw_items = form.get("items")
    if raw_items:
        try:
            data["items"] = json.loads(raw_items)
        except json.JSONDecodeError as exc:
            raise ApplicationError("invalid_input", "`items` must be a JSON array.") from exc
    return data


class CheckDetailApi(APIView):
    permission_classes = (CanRead | CanSubmit,)
    throttle_scope = "read"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CheckDetailQuery"

        wait = serializers.FloatField(required=False, default=0, min_value=0)

    @extend_schema(
        operation_id="checks_retrieve",
        summary="A check's status and each item's verdict or error",
        parameters=[
            OpenApiParameter(
                "wait",
                float,
                description="Wait up to this many seconds (max 30) for the check to "
                "finish before answering.",
            )
        ],
        responses={200: CheckOutputSerializer},
    )
    def get(self, request: Request, check_id: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        check = selectors.check_get(check_id=check_id)
        _ensure_may_read(request, check)
        wait = min(params.validated_data["wait"], settings.VERITY_CHECK_WAIT_MAX_SECONDS)
        if wait > 0 and check.status != CheckStatus.DONE:
            check = _wait_until_done(check_id, deadline=time.monotonic() + wait)
        return Response(CheckOutputSerializer(check).data)


def _ensure_may_read(request: Request, check: Check) -> None:
    token = request.auth
    assert isinstance(token, ApiToken)
    if not token.has_scope("read") and check.token_id != token.pk:
        raise ApplicationError("not_found", "No check with this id.", status_code=404)


def _wait_until_done(check_id: str, *, deadline: float) -> Check:
    while time.monotonic() < deadline:
        if Check.objects.filter(pk=check_id, status=CheckStatus.DONE).exists():
            break
        time.sleep(0.1)
    return selectors.check_get(check_id=check_id)


class ImageHistoryOutputSerializer(serializers.Serializer):
    image = ImageOutputSerializer()
    sightings_total = serializers.IntegerField()
    sightings = SightingOutputSerializer(many=True)
    verdicts = VerdictOutputSerializer(many=True)
    review_labels = ReviewLabelOutputSerializer(many=True)


class ImageDetailApi(APIView):
    permission_classes = (CanRead,)
    throttle_scope = "read"
    max_sightings = 100

    @extend_schema(
        operation_id="images_retrieve",
        summary="An image, where it was seen (latest 100), its whole verdict history and "
        "reviewers' labels",
        responses={200: ImageHistoryOutputSerializer},
    )
    def get(self, request: Request, sha256: str) -> Response:
        image = selectors.image_get(sha256=sha256)
        sightings = selectors.image_sightings(image=image)
        body = {
            "image": image,
            "sightings_total": sightings.count(),
            "sightings": sightings[: self.max_sightings],
            "verdicts": selectors.image_verdicts(image=image),
            "review_labels": review_labels(image_sha256=image.sha256),
        }
        return Response(ImageHistoryOutputSerializer(body).data)


class ImageContentApi(APIView):
    permission_classes = (CanRead,)
    throttle_scope = "read"

    @extend_schema(
        operation_id="images_content",
        summary="The image's bytes, as received",
        responses={(200, "application/octet-stream"): OpenApiResponse(description="Image bytes")},
    )
    def get(self, request: Request, sha256: str) -> FileResponse:
        image = selectors.image_get(sha256=sha256)
        if not image.file:
            raise ApplicationError(
                "not_found", "The bytes of this image are not kept.", status_code=404
            )
        response = FileResponse(image.file.open("rb"), content_type=f"image/{image.format.lower()}")
        response["Content-Security-Policy"] = "default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class VerdictListApi(APIView):
    permission_classes = (CanRead,)
    throttle_scope = "read"

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VerdictFilters"

        url = serializers.CharField(max_length=MAX_URL_LENGTH, required=False)
        band = serializers.ChoiceField(choices=Band.choices, required=False)
        source = serializers.ChoiceField(choices=Source.choices, required=False)  # type: ignore[assignment]
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        model_version = serializers.CharField(max_length=32, required=False)

    @extend_schema(
        operation_id="verdicts_list",
        summary="Verdict history, newest first: for a URL, and/or by band, source, time, version",
        parameters=[FilterSerializer],
        responses={200: VerdictOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        verdicts = selectors.verdicts_for_url(**filters.validated_data)
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(verdicts, request, view=self)
        return paginator.get_paginated_response(VerdictOutputSerializer(page, many=True).data)


class LookupResultSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.ChoiceField(choices=["sha256", "url"])
    found = serializers.BooleanField()
    image_sha256 = serializers.CharField(allow_null=True)
    verdict = VerdictOutputSerializer(allow_null=True)


class LookupOutputSerializer(serializers.Serializer):
    results = LookupResultSerializer(many=True)


class LookupApi(APIView):
    permission_classes = (CanRead,)
    throttle_scope = "read"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LookupInput"

        sha256 = serializers.ListField(
            child=serializers.RegexField(r"^[0-9a-fA-F]{64}$"), required=False, default=list
        )
        urls = serializers.ListField(
            child=serializers.CharField(max_length=MAX_URL_LENGTH), required=False, default=list
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            total = len(attrs["sha256"]) + len(attrs["urls"])
            if total == 0:
                raise serializers.ValidationError("Send at least one sha256 or url.")
            if total > settings.VERITY_MAX_LOOKUP_KEYS:
                raise serializers.ValidationError(
                    f"At most {settings.VERITY_MAX_LOOKUP_KEYS} keys per lookup."
                )
            return attrs

    @extend_schema(
        operation_id="lookups_create",
        summary="Latest verdicts for many images at once, by SHA-256 and/or URL",
        request=InputSerializer,
        responses={200: LookupOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        shas = [sha.lower() for sha in payload.validated_data["sha256"]]
        urls = payload.validated_data["urls"]
        url_images = selectors.latest_image_ids_for_urls(urls=urls)
        verdicts = selectors.latest_verdicts_by_image(image_ids=shas + list(url_images.values()))
        results = [_lookup_result(sha, "sha256", sha, verdicts) for sha in shas]
        results += [_lookup_result(url, "url", url_images.get(url), verdicts) for url in urls]
        return Response(LookupOutputSerializer({"results": results}).data)


def _lookup_result(key: str, kind: str, image_id: str | None, verdicts: dict[str, Any]) -> dict:
    verdict = verdicts.get(image_id) if image_id else None
    return {
        "key": key,
        "kind": kind,
        "found": verdict is not None,
        "image_sha256": image_id if verdict is not None else None,
        "verdict": verdict,
    }


class HealthOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    database = serializers.BooleanField()
    broker = serializers.BooleanField()
    production_model_version = serializers.CharField(allow_null=True)
    scoring_workers = serializers.ListField(child=serializers.DictField())


class HealthApi(APIView):
    """Open to load balancers and probes (no token), throttled per address, no secrets inside."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "health"

    @extend_schema(
        operation_id="healthz",
        summary="Database, broker and model versions (production and loaded by workers)",
        auth=[],
        responses={200: HealthOutputSerializer, 503: HealthOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        from detections.health import health_report

        report = health_report()
        code = (
            status.HTTP_200_OK if report["status"] == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
        )
        return Response(report, status=code)
