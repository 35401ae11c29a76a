"""The one error type of `safefetch`: a stable code for programs, a sentence for people."""

from __future__ import annotations

from enum import StrEnum


class FetchErrorCode(StrEnum):
    """Why a fetch was refused or failed. The values are stable: the API relies on them."""

    URL_INVALID = "url_invalid"
    SCHEME_NOT_ALLOWED = "scheme_not_allowed"
    PORT_NOT_ALLOWED = "port_not_allowed"
    HOST_UNRESOLVABLE = "host_unresolvable"
    ADDRESS_BLOCKED = "address_blocked"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_INVALID = "redirect_invalid"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"
    TLS_ERROR = "tls_error"
    INVALID_RESPONSE = "invalid_response"
    HTTP_STATUS = "http_status"


class FetchError(Exception):
    """A fetch that did not produce a body.

    `code` is one of `FetchErrorCode` (a `str`, so it serialises as is); `message` is written
    for the person who submitted the link and never contains internals such as errno values.
    """

    def __init__(
        self,
        code: FetchErrorCode,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.url = url
        self.status = status  # the HTTP status, for `http_status` (callers retry 5xx and 429)

    def __repr__(self) -> str:
        return f"FetchError(code={self.code.value!r}, message={self.message!r}, url={self.url!r})"
