"""Image extraction: what a reader sees on a page, found in its HTML without any crawl."""

from __future__ import annotations

import pytest
from parsel import Selector

from crawler.extraction import (
    FoundImage,
    SkippedImage,
    background_image_urls,
    extract_images,
    largest_srcset_candidate,
    parse_srcset,
)

PAGE = "https://news.example.org/world/story.html"


def found(html: str, page_url: str = PAGE) -> list[tuple[str, str, str]]:
    """(url, alt, found_by) of every image found in `html`."""
    page = extract_images(Selector(text=html), page_url)
    return [(image.url, image.alt, image.found_by) for image in page.found]


def skipped(html: str) -> list[tuple[str, str]]:
    return [(s.url, s.reason) for s in extract_images(Selector(text=html), PAGE).skipped]


class TestImg:
    def test_src_is_made_absolute_and_keeps_its_alt_text(self):
        assert found('<img src="photo.jpg" alt="  A   photo ">') == [
            ("https://news.example.org/world/photo.jpg", "A photo", "img")
        ]

    def test_srcset_gives_the_widest_candidate_by_w_descriptor(self):
        html = '<img src="s.jpg" srcset="m.jpg 800w, xl.jpg 1600w, s.jpg 400w" alt="Hero">'
        assert found(html) == [("https://news.example.org/world/xl.jpg", "Hero", "srcset")]

    def test_srcset_gives_the_densest_candidate_by_x_descriptor(self):
        html = '<img src="a.png" srcset="a.png, a@3x.png 3x, a@1.5x.png 1.5x">'
        assert found(html)[0][0] == "https://news.example.org/world/a@3x.png"

    def test_an_image_without_a_usable_source_is_not_an_image(self):
        assert found('<img alt="nothing"><img src="  "><img src="#">') == []


class TestSrcset:
    def test_urls_may_contain_commas_as_cdn_urls_do(self):
        candidates = parse_srcset("/c/w_400,h_300/a.jpg 400w, /c/w_800,h_600/a.jpg 800w")
        assert [(c.url, c.width) for c in candidates] == [
            ("/c/w_400,h_300/a.jpg", 400),
            ("/c/w_800,h_600/a.jpg", 800),
        ]

    def test_a_url_ending_in_a_comma_has_no_descriptor(self):
        candidates = parse_srcset("a.jpg,b.jpg 2x")
        assert [(c.url, c.density) for c in candidates] == [("a.jpg,b.jpg", 2.0)]
        assert [c.url for c in parse_srcset("a.jpg, b.jpg 2x")] == ["a.jpg", "b.jpg"]

    def test_width_wins_over_density_and_a_malformed_descriptor_counts_as_1x(self):
        assert largest_srcset_candidate("a.jpg 3x, b.jpg 10w") == "b.jpg"
        assert largest_srcset_candidate("a.jpg 2x, b.jpg bogus") == "a.jpg"
        assert largest_srcset_candidate(" , ") == ""


class TestLazyLoading:
    @pytest.mark.parametrize("attribute", ["data-src", "data-original", "data-lazy-src"])
    def test_the_lazy_attribute_wins_over_a_placeholder_src(self, attribute):
        html = f'<img src="data:image/gif;base64,R0lGOD=" {attribute}="real.jpg" alt="Lazy">'
        assert found(html) == [("https://news.example.org/world/real.jpg", "Lazy", "lazy")]
        assert skipped(html) == []  # the placeholder is not what the reader ends up seeing

    def test_data_srcset_gives_its_largest_candidate(self):
        html = '<img src="blank.gif" data-srcset="a-300.jpg 300w, a-900.jpg 900w">'
        assert found(html) == [("https://news.example.org/world/a-900.jpg", "", "lazy")]

    def test_native_lazy_loading_keeps_the_src(self):
        assert found('<img loading="lazy" src="/n.jpg">') == [
            ("https://news.example.org/n.jpg", "", "img")
        ]


class TestPicture:
    def test_every_source_gives_its_largest_candidate_with_the_alt_of_the_img(self):
        html = """<picture>
            <source type="image/avif" srcset="p.avif 1x, p2.avif 2x">
            <source type="image/webp" srcset="p-600.webp 600w, p-1200.webp 1200w">
            <img src="p.jpg" alt="A picture">
        </picture>"""
        assert found(html, "https://x.test/") == [
            ("https://x.test/p2.avif", "A picture", "picture"),
            ("https://x.test/p-1200.webp", "A picture", "picture"),
            ("https://x.test/p.jpg", "A picture", "img"),
        ]

    def test_an_svg_source_is_skipped_by_its_declared_type(self):
        html = '<picture><source type="image/svg+xml" srcset="/d"><img src="/d.png"></picture>'
        assert found(html, "https://x.test/") == [("https://x.test/d.png", "", "img")]
        assert skipped(html) == [("https://news.example.org/d", "svg")]

    def test_sources_outside_a_picture_are_not_images(self):
        assert found('<video><source src="clip.mp4"></video>') == []


class TestSocialCards:
    def test_og_image_and_twitter_image_with_their_alt_text(self):
        html = """<head>
            <meta property="og:image" content="/card.jpg">
            <meta property="og:image:alt" content="The card">
            <meta name="twitter:image" content="https://cdn.test/t.jpg">
            <meta name="twitter:image:alt" content="The tweet card">
        </head>"""
        assert found(html) == [
            ("https://news.example.org/card.jpg", "The card", "og:image"),
            ("https://cdn.test/t.jpg", "The tweet card", "twitter:image"),
        ]

    def test_name_and_property_spellings_are_both_read(self):
        html = """<meta name="og:image" content="/a.jpg">
            <meta property="twitter:image:src" content="/b.jpg">"""
        assert [url for url, _, _ in found(html)] == [
            "https://news.example.org/a.jpg",
            "https://news.example.org/b.jpg",
        ]


class TestBackgrounds:
    def test_quotes_are_optional(self):
        assert background_image_urls("background-image: url('a.jpg')") == ["a.jpg"]
        assert background_image_urls('background-image: url("b.jpg")') == ["b.jpg"]
        assert background_image_urls("background-image:url( c.jpg )") == ["c.jpg"]

    def test_every_layer_of_a_multiple_background_is_found(self):
        style = "color: red; background-image: url(one.jpg), url('two.png'); margin: 0"
        assert background_image_urls(style) == ["one.jpg", "two.png"]

    def test_the_background_shorthand_counts_and_other_properties_do_not(self):
        style = 'border-image: url(b.png) 30; background: #000 url("bg.jpg") no-repeat'
        assert background_image_urls(style) == ["bg.jpg"]

    def test_a_data_uri_with_semicolons_does_not_break_the_declaration(self):
        style = "background-image: url(data:image/png;base64,iVBOR=); background: url(x.jpg)"
        assert background_image_urls(style) == ["data:image/png;base64,iVBOR=", "x.jpg"]

    def test_inline_styles_of_any_element_are_read_with_an_aria_label_as_alt(self):
        html = '<div style="background-image:url(/h.jpg)" aria-label="Hero"></div>'
        assert found(html) == [("https://news.example.org/h.jpg", "Hero", "background")]


class TestUrls:
    def test_base_href_decides_where_relative_urls_point(self):
        html = '<base href="/assets/a/"><img src="x.jpg"><img src="../y.jpg"><img src="/z.jpg">'
        assert [url for url, _, _ in found(html)] == [
            "https://news.example.org/assets/a/x.jpg",
            "https://news.example.org/assets/y.jpg",
            "https://news.example.org/z.jpg",
        ]

    def test_protocol_relative_urls_take_the_page_scheme(self):
        assert found('<img src="//cdn.test/p.jpg">', "http://site.test/")[0][0] == (
            "http://cdn.test/p.jpg"
        )

    def test_newlines_and_tabs_inside_an_attribute_are_dropped_as_browsers_do(self):
        assert found('<img src=" /a\n/b\t.jpg ">')[0][0] == "https://news.example.org/a/b.jpg"


class TestSkipped:
    def test_data_uris_svg_and_tracking_pixels_are_skipped_with_their_reason(self):
        html = """
            <img src="data:image/png;base64,iVBORw0KGgo=">
            <img src="/icon.svg"><img src="/chart.SVGZ?v=1">
            <img src="/p.gif" width="1" height="1"><img src="/q.gif" width="1px" height="0">
        """
        assert skipped(html) == [
            ("data:image/png;base64,…", "data_uri"),
            ("https://news.example.org/icon.svg", "svg"),
            ("https://news.example.org/chart.SVGZ?v=1", "svg"),
            ("https://news.example.org/p.gif", "tracking_pixel"),
            ("https://news.example.org/q.gif", "tracking_pixel"),
        ]
        assert found(html) == []

    def test_only_a_declared_1x1_is_a_pixel(self):
        html = (
            '<img src="/thin.jpg" width="1" height="300"><img src="/w.jpg" width="auto" height="1">'
        )
        assert [url for url, _, _ in found(html)] == [
            "https://news.example.org/thin.jpg",
            "https://news.example.org/w.jpg",
        ]


def test_an_image_found_twice_on_a_page_is_reported_once_with_the_first_alt_text():
    html = """<head><meta property="og:image" content="/hero.jpg"></head>
        <body><img src="/hero.jpg" alt="The hero"><img src="/hero.jpg" alt="Other words"></body>"""
    page = extract_images(Selector(text=html), PAGE)
    assert page.found == (FoundImage("https://news.example.org/hero.jpg", "The hero", "og:image"),)


def test_every_skipped_occurrence_is_counted():
    html = '<img src="/a.svg"><img src="/a.svg">'
    page = extract_images(Selector(text=html), PAGE)
    assert page.skipped == (SkippedImage("https://news.example.org/a.svg", "svg"),) * 2
