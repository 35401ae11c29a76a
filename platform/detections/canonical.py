"""One spelling per URL, so that `HTTP://Example.com:80/a.jpg` and `http://example.com/a.jpg` share
their sightings, their cache answers and their history."""

from __future__ import annotations

from safefetch import FetchError, parse_target


def canonical_url(url: str) -> str:
    """The URL as the fetcher understands it (lower-case scheme and host, no default port, no
    fragment); unchanged when it is not a fetchable URL at all."""
    try:
        return parse_target(url).url
    except FetchError:
        return url
