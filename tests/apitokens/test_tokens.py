"""Tokens: hashed at rest, shown once, revocable, scoped, throttled."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apitokens.models import ApiToken
from apitokens.services import token_create, token_revoke
from apitokens.throttling import TokenRateThrottle

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_the_key_is_stored() -> None:
    token, key = token_create(name="newsroom", scopes=["read"])

    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {str(value) for value in stored.__dict__.values()}
    assert key.startswith("vrt_") and stored.prefix == key[:12]


def test_kinds_have_recognisable_prefixes() -> None:
    assert token_create(name="c", scopes=["submit"], kind="crawler")[1].startswith("vrc_")
    assert token_create(name="e", scopes=["submit"], kind="extension")[1].startswith("vrx_")


def test_unknown_scope_is_refused() -> None:
    from verity.errors import ApplicationError

    with pytest.raises(ApplicationError, match="Unknown scope"):
        token_create(name="x", scopes=["read", "admin"])


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        ("Bearer vrt_not-a-real-key", 401, "token_invalid"),
        ("Bearer", 401, "token_invalid"),
        ("Bearer a b", 401, "token_invalid"),
        ("Basic dXNlcjpwYXNz", 401, "not_authenticated"),
    ],
)
def test_requests_without_a_valid_token_are_refused(
    header: str | None, status: int, code: str
) -> None:
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_stops_working_at_once() -> None:
    token, key = token_create(name="leaked", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json").status_code == 200

    token_revoke(token=token)

    response = client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_throttled_token_gets_429_with_retry_after(
    client_with: Callable[..., APIClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TokenRateThrottle.THROTTLE_RATES, "read", "3/min")
    client, other = client_with("read"), client_with("read")

    statuses = [
        client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json").status_code
        for _ in range(4)
    ]
    throttled = client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json")

    assert statuses == [200, 200, 200, 429]
    assert throttled.json()["error"]["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["error"]["detail"]["retry_after_seconds"] == int(
        throttled["Retry-After"]
    )
    assert (
        other.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json").status_code == 200
    ), "budgets are per token"


def test_management_commands_create_list_and_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_token", "ci-bot", "--scopes", "submit,read", "--quiet")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(name="ci-bot")
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()

    call_command("list_tokens")
    listing = capsys.readouterr().out
    assert token.prefix in listing and key not in listing

    call_command("revoke_token", token.prefix)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_scope_removed_in_the_admin_applies_at_once() -> None:
    token, key = token_create(name="shrinking", scopes=["read", "submit"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json").status_code == 200

    token.scopes = ["submit"]
    token.save()

    assert client.post("/api/v1/lookups", {"sha256": ["0" * 64]}, format="json").status_code == 403
