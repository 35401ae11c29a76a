"""Reading the crawler's progress feed (see crawler/progress.py) as it grows. No Django here.

The crawler appends one JSON object per line, each written and flushed at once; a last line
without its newline is still being written and is left for the next read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Feed fields copied onto the run as they are (same names on both sides).
COUNTERS = (
    "pages",
    "images_found",
    "images_submitted",
    "images_known",
    "images_new",
)
RATES = ("pages_per_second", "elapsed_seconds")
TALLIES = ("dropped", "errors", "pages_skipped")


class ProgressTail:
    """Follows a growing feed file: each `read_new()` returns the complete lines added since."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as feed:
                feed.seek(self._offset)
                data = feed.read()
        except FileNotFoundError:
            return []  # the crawler has not opened it yet
        end = data.rfind(b"\n") + 1
        self._offset += end
        return [line for raw in data[:end].splitlines() if (line := _parse(raw)) is not None]


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        logger.warning("ignoring a malformed progress line: %r", raw[:200])
        return None
    return value if isinstance(value, dict) else None


def run_fields(line: Mapping[str, Any]) -> dict[str, Any]:
    """The run's progress fields from one feed line (each line carries the totals so far)."""
    fields: dict[str, Any] = {name: int(line.get(name) or 0) for name in COUNTERS}
    fields |= {name: float(line.get(name) or 0.0) for name in RATES}
    fields |= {name: _tally(line.get(name)) for name in TALLIES}
    return fields


def _tally(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(key): int(count) for key, count in value.items() if isinstance(count, int)}
