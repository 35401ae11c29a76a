"""Find the images a person sees on a page: a pure function over parsed HTML.

`extract_images(Selector(text=html), page_url)` needs no crawl, no network and no Scrapy engine,
so every pattern is unit-tested on small HTML fixtures. It looks at:

- `<img>`: the largest `srcset` candidate, else `src`; lazy-loading attributes (`data-srcset`,
  `data-src`, `data-original`, `data-lazy-src`) win over `src`, because lazy-loading scripts swap
  them in and `src` then holds only a placeholder;
- `<picture><source srcset>`: every source's largest candidate (art-directed crops and format
  variants are each something a reader may see; identical bytes meet again at the platform,
  which keys images by their SHA-256);
- `og:image` and `twitter:image` meta tags (with their `:alt` companions);
- inline `background-image` / `background` styles, every `url(...)` in them.

URLs are made absolute against `<base href>` (else the page URL). Three kinds are skipped with a
reason a report can count: `data:` URIs (no URL to check), SVG (vector art, not a photo the
detector can judge) and tracking pixels (declared 1x1). Within one page an image found twice (say
as `og:image` and as the hero `<img>`) is reported once, keeping the first non-empty alt text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urljoin, urlsplit

from parsel import Selector

FoundBy = Literal["img", "srcset", "lazy", "picture", "og:image", "twitter:image", "background"]
SkipReason = Literal["data_uri", "svg", "tracking_pixel"]


@dataclass(frozen=True, slots=True)
class FoundImage:
    url: str
    alt: str
    found_by: FoundBy


@dataclass(frozen=True, slots=True)
class SkippedImage:
    url: str
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class PageImages:
    found: tuple[FoundImage, ...]
    skipped: tuple[SkippedImage, ...]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """An image reference as written in the page, before it is resolved and judged."""

    raw_url: str
    alt: str
    found_by: FoundBy
    declared_svg: bool = False
    declared_pixel: bool = False


# Lazy-loading libraries keep the real image in these, most specific first.
_LAZY_SRCSET_ATTRIBUTES = ("data-srcset",)
_LAZY_SRC_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src")

_SOCIAL_IMAGE_TAGS: tuple[tuple[FoundBy, tuple[str, ...], str], ...] = (
    ("og:image", ("og:image", "og:image:url"), "og:image:alt"),
    ("twitter:image", ("twitter:image", "twitter:image:src"), "twitter:image:alt"),
)

# One CSS declaration; a value may hold `url(...)` or quoted strings with `;` inside them.
_CSS_DECLARATION = re.compile(
    r"""(?P<property>[-\w]+)\s*:\s*(?P<value>(?:url\([^)]*\)|"[^"]*"|'[^']*'|[^;"'])*)""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(
    r"""url\(\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^)\s]*))\s*\)""",
    re.IGNORECASE,
)
_BACKGROUND_PROPERTIES = frozenset({"background", "background-image"})
_SVG_SUFFIXES = (".svg", ".svgz")
_SVG_TYPE = "image/svg+xml"


def extract_images(page: Selector, page_url: str) -> PageImages:
    """Every image a reader of `page` (fetched from `page_url`) sees, and what was skipped, why."""
    base_url = _base_url(page, page_url)
    found: dict[str, FoundImage] = {}
    skipped: list[SkippedImage] = []
    for candidate in _candidates(page):
        url = _absolute(candidate.raw_url, base_url)
        if url is None:
            continue
        reason = _skip_reason(candidate, url)
        first = found.get(url)
        if reason is not None:
            skipped.append(SkippedImage(url=_shorten_data_uri(url), reason=reason))
        elif first is None:
            found[url] = FoundImage(url=url, alt=candidate.alt, found_by=candidate.found_by)
        elif candidate.alt and not first.alt:
            found[url] = replace(first, alt=candidate.alt)
    return PageImages(found=tuple(found.values()), skipped=tuple(skipped))


def _candidates(page: Selector) -> Iterator[_Candidate]:
    yield from _social_candidates(page)
    # `//picture//source`, not `picture/source`: libxml2 does not know `<source>` is a void
    # element, so unclosed sources end up nested inside each other.
    for element in page.xpath("//img | //picture//source"):
        candidate = _element_candidate(element)
        if candidate is not None:
            yield candidate
    yield from _background_candidates(page)


def _social_candidates(page: Selector) -> Iterator[_Candidate]:
    for found_by, names, alt_name in _SOCIAL_IMAGE_TAGS:
        alt = _clean_text(next(iter(_meta_contents(page, alt_name)), ""))
        for name in names:
            for url in _meta_contents(page, name):
                yield _Candidate(raw_url=url, alt=alt, found_by=found_by)


def _meta_contents(page: Selector, name: str) -> list[str]:
    return page.xpath("//meta[@property=$name or @name=$name]/@content", name=name).getall()


def _element_candidate(element: Selector) -> _Candidate | None:
    is_source = element.root.tag == "source"
    srcset, src, lazy = _visible_source(element)
    raw_url = largest_srcset_candidate(srcset) if srcset else src
    if not raw_url:
        return None
    found_by: FoundBy = (
        "picture" if is_source else "lazy" if lazy else "srcset" if srcset else "img"
    )
    image = element.xpath("(ancestor::picture[1]//img)[1]") if is_source else element
    return _Candidate(
        raw_url=raw_url,
        alt=_clean_text(image.xpath("@alt").get("")),
        found_by=found_by,
        declared_svg=(element.attrib.get("type", "").strip().lower() == _SVG_TYPE),
        declared_pixel=not is_source and _declares_pixel(element),
    )


def _visible_source(element: Selector) -> tuple[str, str, bool]:
    """(srcset, src, came from a lazy-loading attribute) for the image a reader ends up seeing."""
    attributes = element.attrib
    for name in _LAZY_SRCSET_ATTRIBUTES:
        if attributes.get(name, "").strip():
            return attributes[name], "", True
    if attributes.get("srcset", "").strip():
        return attributes["srcset"], "", False
    for name in _LAZY_SRC_ATTRIBUTES:
        if attributes.get(name, "").strip():
            return "", attributes[name], True
    return "", attributes.get("src", ""), False


def _declares_pixel(element: Selector) -> bool:
    width = _declared_pixels(element.attrib.get("width"))
    height = _declared_pixels(element.attrib.get("height"))
    return width is not None and height is not None and width <= 1 and height <= 1


def _declared_pixels(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip().removesuffix("px"))
    except ValueError:
        return None


def _background_candidates(page: Selector) -> Iterator[_Candidate]:
    for element in page.xpath("//*[@style]"):
        alt = _clean_text(element.attrib.get("aria-label") or element.attrib.get("title") or "")
        for url in background_image_urls(element.attrib["style"]):
            yield _Candidate(raw_url=url, alt=alt, found_by="background")


def background_image_urls(style: str) -> list[str]:
    """Every `url(...)` of the `background` and `background-image` declarations in a style."""
    urls = []
    for declaration in _CSS_DECLARATION.finditer(style):
        if declaration["property"].lower() in _BACKGROUND_PROPERTIES:
            for match in _CSS_URL.finditer(declaration["value"]):
                url = match["double"] or match["single"] or match["bare"] or ""
                if url.strip():
                    urls.append(url.strip())
    return urls


@dataclass(frozen=True, slots=True)
class SrcsetCandidate:
    url: str
    width: int | None = None
    density: float = 1.0


_URL_RUN = re.compile(r"[\s,]*(\S+)")


def parse_srcset(srcset: str) -> list[SrcsetCandidate]:
    """Split a `srcset` as the HTML standard does: a URL is a run of non-space characters (it may
    contain commas, as CDN URLs often do) and its descriptors run to the next comma."""
    candidates = []
    position = 0
    while match := _URL_RUN.match(srcset, position):
        url, position = match[1], match.end()
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = srcset.find(",", position)
            end = len(srcset) if end == -1 else end
            descriptor, position = srcset[position:end].strip(), end + 1
        if url:
            candidates.append(_with_descriptor(url, descriptor))
    return candidates


def _with_descriptor(url: str, descriptor: str) -> SrcsetCandidate:
    text = descriptor.lower()
    try:
        if text.endswith("w"):
            return SrcsetCandidate(url=url, width=int(text[:-1]))
        if text.endswith("x"):
            return SrcsetCandidate(url=url, density=float(text[:-1]))
    except ValueError:
        pass  # a malformed descriptor counts as the default, 1x
    return SrcsetCandidate(url=url)


def largest_srcset_candidate(srcset: str) -> str:
    """The URL of the largest candidate: widest by `w`, else densest by `x` (first on a tie)."""
    candidates = parse_srcset(srcset)
    if not candidates:
        return ""
    with_width = [c for c in candidates if c.width is not None]
    if with_width:
        return max(with_width, key=lambda c: c.width or 0).url
    return max(candidates, key=lambda c: c.density).url


def _base_url(page: Selector, page_url: str) -> str:
    base_href = page.xpath("//base/@href").get("").strip()
    return urljoin(page_url, base_href) if base_href else page_url


def _absolute(raw_url: str, base_url: str) -> str | None:
    # Browsers drop tabs and newlines anywhere in a URL and trim surrounding spaces.
    cleaned = re.sub(r"[\t\n\r]", "", raw_url).strip()
    if not cleaned or cleaned.startswith("#"):
        return None
    if cleaned.lower().startswith("data:"):
        return cleaned
    return urljoin(base_url, cleaned)


def _skip_reason(candidate: _Candidate, url: str) -> SkipReason | None:
    if url.lower().startswith("data:"):
        return "data_uri"
    if candidate.declared_svg or urlsplit(url).path.lower().endswith(_SVG_SUFFIXES):
        return "svg"
    if candidate.declared_pixel:
        return "tracking_pixel"
    return None


def _shorten_data_uri(url: str) -> str:
    """A data: URI can be megabytes long; its media type is all a report needs."""
    if url.lower().startswith("data:"):
        return url.split(",", 1)[0] + ",…"
    return url


def _clean_text(text: str) -> str:
    return " ".join(text.split())
