"""Verity's crawler: a Scrapy project that finds the images on web pages and submits them to the
platform's check API. It never touches the database (an import-linter contract keeps Django,
Celery and `ml` out); run it with `python -m crawler run --help`."""
