"""Image URL normalisation and the key that decides when two URLs are the same image URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.utils.url import strip_url
from w3lib.url import canonicalize_url, safe_url_string

# Longer URLs are refused by many servers and by the platform's URL fields.
MAX_URL_LENGTH = 2048


class UnusableUrlError(ValueError):
    """The URL cannot be submitted; `reason` is the short code counted in the crawl's stats."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"{reason}: {url[:200]}")
        self.reason = reason


def normalise_image_url(url: str) -> str:
    """The URL as it will be submitted: percent-encoded, IDNA host, lower-case scheme and host,
    no default port, no credentials, no fragment. The query keeps its order: some image CDNs
    sign their URLs, so reordering could break the link."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise UnusableUrlError("unsupported_scheme", url)
    try:
        normalised = strip_url(safe_url_string(url), strip_credentials=True, strip_fragment=True)
    except ValueError as error:
        raise UnusableUrlError("invalid_url", url) from error
    if not urlsplit(normalised).hostname:
        raise UnusableUrlError("invalid_url", url)
    if len(normalised) > MAX_URL_LENGTH:
        raise UnusableUrlError("url_too_long", url)
    return normalised


def image_url_key(normalised_url: str) -> str:
    """Two URLs with the same key name the same resource (query order and escaping aside)."""
    return canonicalize_url(normalised_url)
