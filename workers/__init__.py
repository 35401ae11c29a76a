"""Celery workers: thin tasks that load their inputs, call one platform service, store results."""
