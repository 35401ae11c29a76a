"""The extension's API (`/api/v1/extension/`): CORS-enabled for configured extension origins.

Results come by polling with a bounded wait rather than server-sent events: an MV3 service worker
is suspended after ~30 s idle, which would cut an open event stream, while a long-poll request is
short-lived, retryable, and needs nothing special from proxies.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apitokens.models import ApiToken
from apitokens.permissions import CanSubmit
from detections.apis import MAX_URL_LENGTH
from detections.models import Check, CheckItem, CheckStatus, ItemStatus
from detections.selectors import check_get
from detections.serializers import ItemErrorSerializer, VerdictOutputSerializer
from extension_api import services
from verity.errors import ApplicationError

POLL_INTERVAL_MS = 1000


class ImageResultSerializer(serializers.Serializer):
    url = serializers.CharField()
    status = serializers.ChoiceField(choices=["done", "pending", "failed"])
    verdict = VerdictOutputSerializer(allow_null=True)
    error = ItemErrorSerializer(allow_null=True)


class PageCheckOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    poll_url = serializers.CharField()
    retry_after_ms = serializers.IntegerField()
    results = ImageResultSerializer(many=True)


def page_check_body(check: Check) -> dict[str, Any]:
    return {
        "id": check.pk,
        "poll_url": f"/api/v1/extension/page-checks/{check.pk}",
        "retry_after_ms": POLL_INTERVAL_MS,
        "results": [_result(item) for item in check.items.all()],
    }


def _result(item: CheckItem) -> dict[str, Any]:
    state = {ItemStatus.DONE: "done", ItemStatus.FAILED: "failed"}.get(
        ItemStatus(item.status), "pending"
    )
    error = {"code": item.error_code, "message": item.error_message} if item.error_code else None
    return {"url": item.url, "status": state, "verdict": item.verdict, "error": error}


def page_check_response(check: Check) -> Response:
    check = check_get(check_id=str(check.pk))
    code = status.HTTP_200_OK if check.status == CheckStatus.DONE else status.HTTP_202_ACCEPTED
    return Response(PageCheckOutputSerializer(page_check_body(check)).data, status=code)


class InstallCreateApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "install"  # per client address: registration is unauthenticated

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InstallInput"

        extension_version = serializers.CharField(max_length=32, required=False, allow_blank=True)
        browser = serializers.CharField(max_length=32, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InstallOutput"

        install_id = serializers.UUIDField()
        token = serializers.CharField(help_text="Shown once: keep it in the extension's storage.")

    @extend_schema(
        operation_id="extension_installs_create",
        summary="Register an extension install and get its own token (shown once)",
        auth=[],
        request=InputSerializer,
        responses={201: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        registration = services.install_register(
            extension_version=payload.validated_data.get("extension_version", ""),
            browser=payload.validated_data.get("browser", ""),
        )
        body = {"install_id": registration.install.pk, "token": registration.key}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class ImageUrlSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=MAX_URL_LENGTH)


class PageCheckCreateApi(APIView):
    permission_classes = (CanSubmit,)
    throttle_scope = "submit"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PageCheckInput"

        page_url = serializers.CharField(
            max_length=MAX_URL_LENGTH,
            required=False,
            allow_null=True,
            allow_blank=True,
            help_text="Omit (or null) when the user turned page URLs off: nothing is then stored.",
        )
        images = ImageUrlSerializer(many=True, allow_empty=False)

        def validate_images(self, images: list[dict[str, str]]) -> list[dict[str, str]]:
            limit = settings.VERITY_EXTENSION_MAX_IMAGES
            if len(images) > limit:
                raise serializers.ValidationError(f"At most {limit} images per request.")
            return images

    @extend_schema(
        operation_id="extension_page_checks_create",
        summary="Check the images of a page; known verdicts come back at once",
        request=InputSerializer,
        responses={200: PageCheckOutputSerializer, 202: PageCheckOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        check = services.page_check_create(
            token=_token(request),
            image_urls=[image["url"] for image in payload.validated_data["images"]],
            page_url=payload.validated_data.get("page_url") or "",
        )
        return page_check_response(check)


class PageCheckDetailApi(APIView):
    permission_classes = (CanSubmit,)
    throttle_scope = "read"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PageCheckQuery"

        wait = serializers.FloatField(required=False, default=0, min_value=0)

    @extend_schema(
        operation_id="extension_page_checks_retrieve",
        summary="Poll a page check; `wait` returns as soon as another verdict is ready (max 20 s)",
        parameters=[OpenApiParameter("wait", float)],
        responses={200: PageCheckOutputSerializer, 202: PageCheckOutputSerializer},
    )
    def get(self, request: Request, check_id: str) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        check = check_get(check_id=str(check_id))
        if check.token_id != _token(request).pk:
            raise ApplicationError("not_found", "No page check with this id.", status_code=404)
        wait = min(params.validated_data["wait"], settings.VERITY_EXTENSION_WAIT_MAX_SECONDS)
        if wait > 0 and check.status != CheckStatus.DONE:
            check = services.page_check_wait(check_id=str(check_id), seconds=wait)
        return page_check_response(check)


class UploadApi(APIView):
    permission_classes = (CanSubmit,)
    throttle_scope = "submit"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ExtensionUploadInput"

        image = serializers.FileField(allow_empty_file=False)
        src = serializers.CharField(max_length=MAX_URL_LENGTH, required=False, allow_blank=True)
        page_url = serializers.CharField(
            max_length=MAX_URL_LENGTH, required=False, allow_blank=True
        )

    @extend_schema(
        operation_id="extension_uploads_create",
        summary="Check an image's bytes, fetched by the extension (private or blob: URLs)",
        request={"multipart/form-data": InputSerializer},
        responses={200: PageCheckOutputSerializer, 202: PageCheckOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        check = services.private_image_check_create(
            token=_token(request),
            image=payload.validated_data["image"],
            source_url=payload.validated_data.get("src", ""),
            page_url=payload.validated_data.get("page_url", ""),
        )
        return page_check_response(check)


def _token(request: Request) -> ApiToken:
    token = request.auth
    assert isinstance(token, ApiToken)
    return token
