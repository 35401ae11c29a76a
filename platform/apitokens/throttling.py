"""Per-token throttling; a view picks its budget with ``throttle_scope`` (submit, read, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

if TYPE_CHECKING:  # importing DRF views here would be circular (DRF settings import us)
    from rest_framework.views import APIView

from apitokens.models import ApiToken


class TokenRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, keyed by token rather than by user (two tokens of one organisation
    have separate budgets, an ownerless token is still throttled), and counted in fixed windows
    with one atomic increment per request. DRF's own sliding log stores every timestamp of the
    window and rewrites the whole list on each request, which costs more the busier a client is;
    a counter costs the same at any rate. The price: a client can burst to twice its rate across
    a window boundary, never more."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = request.auth
        ident = f"token-{token.pk}" if isinstance(token, ApiToken) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        limit, seconds = self.parse_rate(self.rate)
        if limit is None or seconds is None:
            return True
        self.now = self.timer()
        window = int(self.now // seconds)
        self.window_ends_at = (window + 1) * seconds
        key = f"{self.get_cache_key(request, view)}:{window}"
        return self._count(key, expires_in=seconds + 1) <= limit

    def _count(self, key: str, *, expires_in: int) -> int:
        if self.cache.add(key, 1, timeout=expires_in):
            return 1
        try:
            return int(self.cache.incr(key))
        except ValueError:  # the window's key expired between add() and incr()
            self.cache.add(key, 1, timeout=expires_in)
            return 1

    def wait(self) -> float:
        return max(0.0, self.window_ends_at - self.now)
