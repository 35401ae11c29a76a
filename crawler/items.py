"""What a spider yields: one image seen on one page."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.extraction import FoundBy


@dataclass
class ImageItem:
    """An image URL as found on `page_url`; pipelines normalise `url` in place."""

    url: str
    page_url: str
    alt: str
    found_by: FoundBy
