"""Per-token throttling; a view picks its budget with ``throttle_scope`` (submit, read, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

if TYPE_CHECKING:  # importing DRF views here would be circular (DRF settings import us)
    from rest_framework.views import APIView

from apitokens.models import ApiToken


class TokenRateThrottle(ScopedRateThrottle):
    """Like DRF's scoped throttle, but keyed by token rather than by user, so that two tokens of
    one organisation have separate budgets and an ownerless token is still throttled."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = request.auth
        ident = f"token-{token.pk}" if isinstance(token, ApiToken) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
