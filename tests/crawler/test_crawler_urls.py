"""One spelling per image URL, and the first two pipelines that rely on it."""

from __future__ import annotations

import pytest

from crawler.items import ImageItem
from crawler.pipelines import DeduplicateImagesPipeline, DropImage, NormaliseImageUrlPipeline
from crawler.urls import MAX_URL_LENGTH, UnusableUrlError, image_url_key, normalise_image_url


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTP://News.Example.ORG/a.jpg", "http://news.example.org/a.jpg"),
        ("http://example.org:80/a.jpg", "http://example.org/a.jpg"),
        ("https://example.org:443/a.jpg", "https://example.org/a.jpg"),
        ("http://example.org:8080/a.jpg", "http://example.org:8080/a.jpg"),
        ("https://user:secret@example.org/a.jpg", "https://example.org/a.jpg"),
        ("https://example.org/a.jpg#zoom", "https://example.org/a.jpg"),
        ("https://example.org/a b/é.jpg", "https://example.org/a%20b/%C3%A9.jpg"),
        ("https://bücher.example/a.jpg", "https://xn--bcher-kva.example/a.jpg"),
        # The query keeps its order: signed CDN URLs break when it changes.
        ("https://cdn.test/a.jpg?w=2&h=1&sig=x", "https://cdn.test/a.jpg?w=2&h=1&sig=x"),
    ],
)
def test_normalised_urls(url, normalised):
    assert normalise_image_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:void(0)", "unsupported_scheme"),
        ("ftp://example.org/a.jpg", "unsupported_scheme"),
        ("blob:https://example.org/1234", "unsupported_scheme"),
        ("http:///a.jpg", "invalid_url"),
        ("https://example.org/" + "a" * MAX_URL_LENGTH, "url_too_long"),
    ],
)
def test_urls_that_cannot_be_submitted(url, reason):
    with pytest.raises(UnusableUrlError) as refused:
        normalise_image_url(url)
    assert refused.value.reason == reason


def test_the_key_ignores_query_order_and_needless_escapes():
    assert image_url_key("https://t.test/%7Ea.jpg?b=2&a=1") == image_url_key(
        "https://t.test/~a.jpg?a=1&b=2"
    )
    assert image_url_key("https://t.test/a.jpg") != image_url_key("https://t.test/b.jpg")


def image(url: str) -> ImageItem:
    return ImageItem(url=url, page_url="https://t.test/", alt="", found_by="img")


def test_normalising_rewrites_the_item_or_drops_it_with_the_reason():
    pipeline = NormaliseImageUrlPipeline()
    assert pipeline.process_item(image("HTTPS://T.test/a.jpg#x")).url == "https://t.test/a.jpg"
    with pytest.raises(DropImage) as dropped:
        pipeline.process_item(image("javascript:alert(1)"))
    assert dropped.value.reason == "unsupported_scheme"


def test_each_image_url_passes_once_per_run():
    pipeline = DeduplicateImagesPipeline()
    pipeline.process_item(image("https://t.test/a.jpg?x=1&y=2"))
    pipeline.process_item(image("https://t.test/b.jpg"))
    with pytest.raises(DropImage) as dropped:
        pipeline.process_item(image("https://t.test/a.jpg?y=2&x=1"))
    assert dropped.value.reason == "duplicate"
