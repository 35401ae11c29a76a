"""One place that turns errors into JSON.

Every API error has the same shape, ``{"error": {"code", "message", "detail"}}``, where ``code`` is
stable (clients branch on it) and ``message`` is written for a person.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from verity.errors import ApplicationError

_DRF_CODES: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.ValidationError, "invalid_input", "The request has invalid fields."),
    (
        exceptions.NotAuthenticated,
        "not_authenticated",
        "Send a token: Authorization: Bearer <token>.",
    ),
    (exceptions.AuthenticationFailed, "token_invalid", "The token is unknown or was revoked."),
    (exceptions.PermissionDenied, "permission_denied", "This token may not do that."),
    (exceptions.NotFound, "not_found", "Nothing was found here."),
    (exceptions.Throttled, "throttled", "Too many requests; retry after the Retry-After delay."),
    (exceptions.MethodNotAllowed, "method_not_allowed", "This method is not allowed here."),
    (
        exceptions.UnsupportedMediaType,
        "unsupported_media_type",
        "Send JSON or multipart form data.",
    ),
    (exceptions.ParseError, "malformed_request", "The request body could not be parsed."),
]


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail or {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.detail), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)  # keeps DRF's headers (Retry-After, Allow, ...)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code, message = _describe(exc)
    detail: dict[str, Any] = (
        {"fields": exc.detail} if isinstance(exc, exceptions.ValidationError) else {}
    )
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        detail = {"retry_after_seconds": int(wait + 0.999)}
    response.data = error_body(code, message, detail)
    return response


def _describe(exc: exceptions.APIException) -> tuple[str, str]:
    for exc_type, code, message in _DRF_CODES:
        if isinstance(exc, exc_type):
            return code, message
    return "error", str(exc.detail)
