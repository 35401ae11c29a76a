"""``manage.py demo_token``: a fresh token for trying Verity locally (the old demo one is revoked).

Keys are stored hashed and can never be shown twice, so each start makes a new one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apitokens.models import ApiToken
from apitokens.services import token_create, token_revoke

DEMO_TOKEN_NAME = "demo (make run)"  # noqa: S105  (a name, not a secret)


class Command(BaseCommand):
    help = "Create a demo token (submit, read, review) and revoke earlier demo tokens."

    def handle(self, *args: Any, **options: Any) -> None:
        for old in ApiToken.objects.filter(name=DEMO_TOKEN_NAME, revoked_at__isnull=True):
            token_revoke(token=old)
        _, key = token_create(name=DEMO_TOKEN_NAME, scopes=["submit", "read", "review"])
        base = settings.VERITY_PUBLIC_URL.rstrip("/")
        self.stdout.write(
            f"""
Demo token (shown once): {key}

Check an image file:
  curl -s -H "Authorization: Bearer {key}" -F images=@photo.jpg {base}/api/v1/checks
Check an image URL:
  curl -s -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\
       -d '{{"items": [{{"url": "https://example.org/picture.jpg"}}]}}' {base}/api/v1/checks
Then read the result (waits up to 10 s):
  curl -s -H "Authorization: Bearer {key}" "{base}/api/v1/checks/<id>?wait=10"
API docs: {base}/api/v1/docs/   Admin: {base}/admin/ (manage.py createsuperuser)
"""
        )
