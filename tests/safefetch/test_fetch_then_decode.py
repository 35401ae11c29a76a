"""The whole path an image link takes: fetched from a real server, then decoded.

What the server claims (`Content-Type: image/jpeg`, a `.jpg` name) decides nothing: each body
ends as a decoded picture or as one clear error, and nothing raises anything else.
"""

from __future__ import annotations

import pytest
from PIL import Image

from imaging import ImageRejected, decode_image
from safefetch import FetchError, safe_get
from tests.imaging.support import encode, noise, png_declaring
from tests.safefetch.support import TEST_POLICY, LocalServer, assert_readable

JPEG = encode(noise(), "JPEG")

SERVED_AS_JPEG = {
    "a real jpeg": (JPEG, None),
    "a png named .jpg": (encode(noise(), "PNG"), None),
    "an html error page": (b"<!doctype html><title>404</title><h1>Not Found</h1>", "not_an_image"),
    "an svg with a script": (
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='x()'/>",
        "unsupported_format",
    ),
    "a zip archive": (b"PK\x03\x04" + bytes(100), "not_an_image"),
    "a truncated jpeg": (JPEG[: len(JPEG) // 3], "image_truncated"),
    "a decompression bomb": (png_declaring(50_000, 50_000), "image_too_many_pixels"),
    "a tracking pixel": (encode(Image.new("RGB", (1, 1)), "GIF"), "image_too_small"),
}


@pytest.mark.parametrize(("body", "code"), SERVED_AS_JPEG.values(), ids=SERVED_AS_JPEG.keys())
def test_what_the_server_says_decides_nothing(
    local_server: LocalServer, body: bytes, code: str | None
) -> None:
    url = local_server.serve("/photo.jpg", body, content_type="image/jpeg")

    resource = safe_get(url, policy=TEST_POLICY)

    if code is None:
        assert decode_image(resource.body).width == 96
        return
    with pytest.raises(ImageRejected) as rejected:
        decode_image(resource.body)
    assert rejected.value.code == code
    assert_readable(rejected.value)


def test_every_failure_is_one_of_the_two_error_types(local_server: LocalServer) -> None:
    """A worker needs to catch exactly FetchError and ImageRejected, nothing else."""
    local_server.serve("/ok.jpg", JPEG)
    local_server.serve("/page", b"<html></html>", content_type="text/html")
    links = [
        local_server.url("/ok.jpg"),
        local_server.url("/page"),
        local_server.url("/missing.jpg"),
        "http://169.254.169.254/latest/meta-data/",
        "ftp://example.com/a.jpg",
    ]
    outcomes = []
    for link in links:
        try:
            outcomes.append(decode_image(safe_get(link, policy=TEST_POLICY).body).format)
        except (FetchError, ImageRejected) as error:
            outcomes.append(error.code)
    assert outcomes == [
        "JPEG",
        "not_an_image",
        "http_status",
        "address_blocked",
        "scheme_not_allowed",
    ]
