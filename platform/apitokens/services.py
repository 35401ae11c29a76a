"""Creating, using and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.utils import timezone

from apitokens.models import ApiToken, Scope, TokenKind, token_cache_key
from verity.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_KEY_PREFIXES = {TokenKind.API: "vrt", TokenKind.CRAWLER: "vrc", TokenKind.EXTENSION: "vrx"}
TOKEN_CACHE_SECONDS = 60
UNKNOWN = "unknown"  # cached for keys no active token has
# Recording every use would turn each read into a write; once every few minutes is enough.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(
    *,
    name: str,
    scopes: list[str],
    kind: str = TokenKind.API,
    owner: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key: the only time the key is ever visible."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ApplicationError("invalid_scope", f"Unknown scope(s): {', '.join(unknown)}.")
    key = f"{_KEY_PREFIXES[TokenKind(kind)]}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name,
        kind=kind,
        scopes=sorted(set(scopes)),
        prefix=key[:12],
        key_hash=hash_key(key),
        owner=owner,
    )
    return token, key


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    cache.delete(token_cache_key(token.key_hash))  # refused from the very next request
    token.refresh_from_db(fields=["revoked_at"])


def token_authenticate(*, key: str) -> ApiToken | None:
    """The active token with this key, or None.

    Every API request asks this, so the answer is cached (Redis in production) for a minute;
    revoking or changing a token clears its entry. Unknown keys are cached too, so guessing
    costs the database nothing (a real key is 256 random bits: it is never "unknown" first)."""
    key_hash = hash_key(key)
    cached = cache.get(token_cache_key(key_hash))
    if cached is None:
        cached = (
            ApiToken.objects.select_related("owner")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
            .first()
        ) or UNKNOWN
        cache.set(token_cache_key(key_hash), cached, TOKEN_CACHE_SECONDS)
    if cached == UNKNOWN:
        return None
    _touch(cached)
    return cached


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        cache.set(token_cache_key(token.key_hash), token, TOKEN_CACHE_SECONDS)
