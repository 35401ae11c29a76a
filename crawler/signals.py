"""Signals of our own, sent through the crawler's signal manager like Scrapy's."""

# Sent by the submission pipeline when the platform accepted a batch: `check_id` (str | None).
check_submitted = object()
