"""Following the crawler's progress feed while it is written: complete lines only, in order."""

from __future__ import annotations

import json
from pathlib import Path

from crawls.process import crawler_environment
from crawls.progress import ProgressTail, run_fields


def line(**fields: object) -> str:
    return json.dumps({"pages": 0, **fields}) + "\n"


def test_each_read_returns_the_complete_lines_added_since_the_last(tmp_path: Path) -> None:
    feed = tmp_path / "progress.jsonl"
    tail = ProgressTail(feed)
    assert tail.read_new() == []  # not written yet

    feed.write_text(line(pages=1) + line(pages=2))
    assert [item["pages"] for item in tail.read_new()] == [1, 2]
    assert tail.read_new() == []

    with feed.open("a") as file:
        file.write(line(pages=3) + '{"pages": 4, "ima')  # the last line is still being written
    assert [item["pages"] for item in tail.read_new()] == [3]

    with feed.open("a") as file:
        file.write('ges_found": 9}\n')
    assert tail.read_new() == [{"pages": 4, "images_found": 9}]


def test_malformed_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    feed = tmp_path / "progress.jsonl"
    feed.write_text("not json\n\n[1, 2]\n" + line(pages=7))

    assert ProgressTail(feed).read_new() == [{"pages": 7}]


def test_a_feed_line_becomes_the_runs_progress_fields() -> None:
    fields = run_fields(
        {
            "pages": 12,
            "pages_per_second": 3.5,
            "elapsed_seconds": 4.2,
            "images_found": 30,
            "images_submitted": 25,
            "images_known": 5,
            "images_new": 20,
            "dropped": {"svg": 2, "duplicate": 4},
            "errors": {"http_404": 1},
            "pages_skipped": {"robots_txt": 1},
            "check_ids": ["a"],
            "final": False,
        }
    )

    assert fields == {
        "pages": 12,
        "pages_per_second": 3.5,
        "elapsed_seconds": 4.2,
        "images_found": 30,
        "images_submitted": 25,
        "images_known": 5,
        "images_new": 20,
        "dropped": {"svg": 2, "duplicate": 4},
        "errors": {"http_404": 1},
        "pages_skipped": {"robots_txt": 1},
    }


def test_the_crawler_gets_its_token_and_nothing_of_the_platforms_secrets() -> None:
    env = crawler_environment(
        "vrc_key",
        inherited={
            "PATH": "/usr/bin",
            "HOME": "/home/verity",
            "https_proxy": "http://proxy:3128",
            "DATABASE_URL": "postgres://verity:password@db/verity",
            "DJANGO_SECRET_KEY": "secret",
            "VERITY_API_TOKEN": "someone else's",
        },
    )

    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/verity",
        "https_proxy": "http://proxy:3128",
        "VERITY_API_TOKEN": "vrc_key",
        "PYTHONUNBUFFERED": "1",
    }
