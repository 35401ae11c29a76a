"""Verity's crawler: a Scrapy project that finds the images on web pages and submits them to the
platform's check API. It never touches the database (an import-linter contract keeps Django,
Celery and `ml` out); run it with `python -m crawler run --help`."""

import sys
from pathlib import Path

# The address guard comes from `safefetch`, a plain library (no Django) kept in platform/.
_PLATFORM_DIR = str(Path(__file__).resolve().parents[1] / "platform")
if _PLATFORM_DIR not in sys.path:
    sys.path.append(_PLATFORM_DIR)
