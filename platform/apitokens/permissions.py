"""What a token may do: each API view names the scope it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # importing DRF views here would be circular (DRF settings import us)
    from rest_framework.views import APIView

from apitokens.models import ApiToken, Scope


class _HasScope(BasePermission):
    scope: str = ""
    message = "This token lacks the required scope."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        return isinstance(token, ApiToken) and token.has_scope(self.scope)


class CanSubmit(_HasScope):
    scope = Scope.SUBMIT
    message = "This token may not submit images (scope 'submit' missing)."


class CanRead(_HasScope):
    scope = Scope.READ
    message = "This token may not read verdicts (scope 'read' missing)."


class CanReview(_HasScope):
    scope = Scope.REVIEW
    message = "This token may not label images (scope 'review' missing)."
