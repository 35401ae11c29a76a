"""``manage.py list_tokens``: the tokens, without their secrets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apitokens.models import ApiToken


class Command(BaseCommand):
    help = "List API tokens (prefix, kind, scopes, state)."

    def handle(self, *args: Any, **options: Any) -> None:
        for token in ApiToken.objects.all():
            state = "revoked" if token.revoked_at else "active"
            scopes = ",".join(token.scopes)
            self.stdout.write(
                f"{token.prefix}…  {token.kind:9}  {scopes:20}  {state:7}  {token.name}"
            )
