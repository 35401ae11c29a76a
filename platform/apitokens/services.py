"""Creating, using and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from apitokens.models import ApiToken, Scope, TokenKind
from verity.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_KEY_PREFIXES = {TokenKind.API: "vrt", TokenKind.CRAWLER: "vrc", TokenKind.EXTENSION: "vrx"}
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
    token.refresh_from_db(fields=["revoked_at"])


def token_authenticate(*, key: str) -> ApiToken | None:
    """The active token with this key, or None."""
    token = (
        ApiToken.objects.select_related("owner")
        .filter(key_hash=hash_key(key), revoked_at__isnull=True)
        .first()
    )
    if token is not None:
        _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
