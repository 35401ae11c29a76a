"""``manage.py create_token NAME``: create an API token and print its key once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apitokens.models import Scope, TokenKind
from apitokens.services import token_create
from verity.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API token. The key is printed once and never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scopes", default="submit,read", help=f"Comma-separated: {', '.join(Scope.values)}"
        )
        parser.add_argument("--kind", default=TokenKind.API, choices=TokenKind.values)
        parser.add_argument("--user", help="Username that owns the token (optional).")
        parser.add_argument("--quiet", action="store_true", help="Print only the key.")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["user"]:
            owner = get_user_model().objects.filter(username=options["user"]).first()
            if owner is None:
                raise CommandError(f"No user named {options['user']!r}.")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            token, key = token_create(
                name=options["name"], scopes=scopes, kind=options["kind"], owner=owner
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if options["quiet"]:
            self.stdout.write(key)
            return
        self.stdout.write(
            f"Created token {token.prefix}… ({token.kind}; scopes: {', '.join(token.scopes)})"
        )
        self.stdout.write("Key (shown once, store it now):")
        self.stdout.write(key)
