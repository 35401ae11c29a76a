"""Who may use the crawl API: API tokens only. A crawler token (one per run) and an extension
install token may submit images, but must never be able to start or change crawls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apitokens.models import ApiToken, Scope, TokenKind

if TYPE_CHECKING:
    from rest_framework.views import APIView


def _api_token(request: Request) -> ApiToken | None:
    token = request.auth
    return token if isinstance(token, ApiToken) and token.kind == TokenKind.API else None


class CanManageCrawls(BasePermission):
    message = "Only API tokens with scope 'submit' may create, change, start or cancel crawls."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = _api_token(request)
        return token is not None and token.has_scope(Scope.SUBMIT)


class CanReadCrawls(BasePermission):
    message = "Only API tokens with scope 'read' or 'submit' may read crawls."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = _api_token(request)
        return token is not None and (token.has_scope(Scope.READ) or token.has_scope(Scope.SUBMIT))
