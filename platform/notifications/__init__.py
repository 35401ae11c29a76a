"""Telling people: e-mail through Django's mail backend, webhooks signed with HMAC-SHA256 and sent
through the same SSRF guard as image fetches (a webhook URL is untrusted input too)."""
