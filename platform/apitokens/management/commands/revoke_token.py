"""``manage.py revoke_token PREFIX``: revoke a token by the prefix shown in lists."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apitokens.models import ApiToken
from apitokens.services import token_revoke


class Command(BaseCommand):
    help = "Revoke an API token, given its prefix (as listed by list_tokens) or its whole key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"][:12]
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix!r}.")
        token_revoke(token=token)
        self.stdout.write(f"Revoked {token}.")
