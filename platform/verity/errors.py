"""The one error type that services and selectors raise for failures a client can act on.

``verity.exception_handler`` turns it (and DRF's own errors) into the API's JSON error shape.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A failure the client can act on, raised by services and selectors."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = 400,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.detail = detail or {}
