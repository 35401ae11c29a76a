"""The check API client against a real HTTP server on 127.0.0.1 speaking the platform's API."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from crawler.submission import MAX_ALT_LENGTH, CheckApiClient, RetryPolicy, SubmittedImage

IMAGES = [
    SubmittedImage(url="https://t.test/a.jpg", page_url="https://t.test/", alt="A"),
    SubmittedImage(url="https://t.test/b.jpg", page_url="https://t.test/news", alt=""),
]


TOKEN = "secret-token"


def client(api_url: str, waits: list[float], **policy: float) -> CheckApiClient:
    return CheckApiClient(
        api_url,
        TOKEN,
        reference="crawl-run:42",
        user_agent="Verity/test",
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=waits.append,  # record the waits instead of sleeping through them
    )


def test_an_accepted_batch_says_which_images_the_platform_already_knew(check_api):
    api = check_api(token=TOKEN, known={"https://t.test/b.jpg"})
    result = client(api.url, []).submit(IMAGES)
    assert (result.outcome, result.known, result.new) == ("accepted", 1, 1)
    [call] = api.calls
    assert result.check_id is not None
    assert call.authorization == "Bearer secret-token"
    assert call.body == {
        "source": "crawler",
        "reference": "crawl-run:42",
        "items": [
            {"url": "https://t.test/a.jpg", "page_url": "https://t.test/", "alt": "A"},
            {"url": "https://t.test/b.jpg", "page_url": "https://t.test/news", "alt": ""},
        ],
    }


def test_alt_text_is_cut_to_what_the_api_accepts(check_api):
    api = check_api(token=TOKEN)
    long_alt = SubmittedImage(url="https://t.test/c.jpg", page_url="https://t.test/", alt="x" * 900)
    assert client(api.url, []).submit([long_alt]).outcome == "accepted"
    assert api.calls[0].body["items"][0]["alt"] == "x" * MAX_ALT_LENGTH


def test_throttling_is_waited_out_as_retry_after_says_and_the_same_batch_sent_again(check_api):
    api = check_api(token=TOKEN, answers=[429, 429], retry_after="7")
    waits: list[float] = []
    result = client(api.url, waits).submit(IMAGES)
    assert (result.outcome, result.throttled) == ("accepted", 2)
    assert waits == [7.0, 7.0]
    assert [call.status for call in api.calls] == [429, 429, 202]
    assert api.calls[0].body == api.calls[2].body


def test_server_errors_are_retried_with_growing_backoff_then_the_batch_is_given_up(check_api):
    api = check_api(token=TOKEN, answers=[500, 503, 502, 500])
    waits: list[float] = []
    result = client(api.url, waits, max_retries=3, backoff=2.0).submit(IMAGES)
    assert (result.outcome, result.server_errors) == ("failed", 4)
    assert len(api.calls) == 4
    # 2, 4, 8 seconds, each with up to half taken off as jitter.
    assert len(waits) == 3
    assert all(
        ceiling / 2 <= wait <= ceiling for wait, ceiling in zip(waits, [2, 4, 8], strict=True)
    )


def test_a_server_error_then_success_is_one_accepted_batch(check_api):
    api = check_api(token=TOKEN, answers=[500])
    result = client(api.url, [], backoff=0.5).submit(IMAGES)
    assert (result.outcome, result.server_errors) == ("accepted", 1)


@pytest.mark.parametrize(("status", "outcome"), [(401, "unauthorized"), (403, "unauthorized")])
def test_a_refused_token_is_never_retried(check_api, status, outcome):
    api = check_api(token=TOKEN, answers=[status])
    result = client(api.url, []).submit(IMAGES)
    assert result.outcome == outcome
    assert len(api.calls) == 1


def test_a_refused_batch_is_never_retried_and_says_why(check_api):
    api = check_api(token=TOKEN, answers=[400])
    result = client(api.url, []).submit(IMAGES)
    assert result.outcome == "rejected"
    assert result.detail == "HTTP 400 batch_too_large: Bad Request"
    assert len(api.calls) == 1


def test_no_connection_is_retried_a_bounded_number_of_times():
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    waits: list[float] = []
    result = client(f"http://127.0.0.1:{port}", waits, max_retries=2).submit(IMAGES)
    assert (result.outcome, result.connection_errors) == ("failed", 3)
    assert len(waits) == 2


def test_retry_after_may_be_an_http_date_and_is_never_trusted_beyond_the_cap():
    policy = RetryPolicy(max_retry_after=60.0, backoff=3.0)
    in_ten_seconds = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= policy.throttle_wait(in_ten_seconds) <= 10
    assert policy.throttle_wait("3600") == 60.0
    assert policy.throttle_wait(None) == 3.0  # no header: the first backoff step
    assert policy.throttle_wait("soon") == 3.0
