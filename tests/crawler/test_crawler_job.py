"""The crawl job: the JSON the platform writes, the flags a person types, the settings they make."""

from __future__ import annotations

import json

import pytest

from crawler.cli import build_parser, job_from_arguments
from crawler.job import CrawlJob, JobError, job_from_mapping, load_job
from crawler.runner import ExitCode, exit_code, job_settings


def test_a_minimal_job_is_polite_by_default():
    job = job_from_mapping({"spider": "site", "start_urls": ["https://news.example.org/"]})
    settings = job_settings(job)
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert settings["DOWNLOAD_DELAY"] > 0
    assert settings["RETRY_TIMES"] == 2
    assert settings["DEPTH_LIMIT"] == job.max_depth > 0
    assert settings["USER_AGENT"] == "Verity/0.1 (+https://github.com/verity-project/verity)"
    assert settings["VERITY_API_URL"] is None
    assert job.effective_allowed_domains == ("news.example.org",)


def test_every_politeness_choice_can_be_changed_per_job(tmp_path):
    job = job_from_mapping(
        {
            "spider": "pages",
            "page_urls": ["https://a.test/1", "https://b.test/2", "https://a.test/3"],
            "obey_robots": False,
            "autothrottle": False,
            "download_delay": 0,
            "concurrency_per_domain": 8,
            "concurrent_requests": 4,
            "retry_times": 0,
            "max_depth": 2,
            "contact_url": "https://newsroom.example/crawler",
        }
    )
    settings = job_settings(job, progress_file=tmp_path / "p.jsonl", output=tmp_path / "i.jsonl")
    assert settings["ROBOTSTXT_OBEY"] is False
    assert settings["AUTOTHROTTLE_ENABLED"] is False
    assert settings["DOWNLOAD_DELAY"] == 0
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 8
    assert settings["CONCURRENT_REQUESTS"] == 8  # never fewer in all than per domain
    assert settings["RETRY_ENABLED"] is False
    assert settings["DEPTH_LIMIT"] == 0  # only the site spider follows links
    assert settings["USER_AGENT"] == "Verity/0.1 (+https://newsroom.example/crawler)"
    assert settings["VERITY_PROGRESS_FILE"] == str(tmp_path / "p.jsonl")
    assert list(settings["FEEDS"]) == [(tmp_path / "i.jsonl").as_uri()]
    assert job.effective_allowed_domains == ("a.test", "b.test")


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"spider": "forum", "start_urls": ["https://a.test/"]}, "spider must be one of"),
        ({"spider": "site"}, "the site spider needs start_urls"),
        ({"spider": "sitemap"}, "the sitemap spider needs sitemap_urls"),
        ({"spider": "pages", "start_urls": ["https://a.test/"]}, "pages spider needs page_urls"),
        ({"spider": "pages", "page_urls": ["file:///etc/passwd"]}, "not an http(s) URL"),
        ({"spider": "pages", "page_urls": "https://a.test/"}, "must be a list of strings"),
        ({"spider": "pages", "page_urls": [42]}, "must be a list of strings"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "max_pages": 0}, "max_pages"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "max_pages": "9"}, "must be int"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "obey_robots": 1}, "must be bool"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "batch_size": 101}, "at most 100"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "reference": "r" * 201}, "200"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "api_url": "a.test"}, "api_url"),
        ({"spider": "site", "start_urls": ["https://a.test/"], "max_page": 5}, "unknown"),
        ({"start_urls": ["https://a.test/"]}, "spider"),
    ],
)
def test_a_job_that_cannot_run_is_refused_with_the_reason(values, complaint):
    with pytest.raises(JobError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        job_from_mapping(values)


def test_flags_override_the_job_file(tmp_path):
    job_file = tmp_path / "job.json"
    job_file.write_text(
        json.dumps({"spider": "site", "start_urls": ["https://a.test/"], "max_pages": 50})
    )
    arguments = build_parser().parse_args(
        [
            *("run", "--job-file", str(job_file), "--max-pages", "5", "--no-obey-robots"),
            *("--start-url", "https://b.test/", "--start-url", "https://c.test/"),
        ]
    )
    job = job_from_arguments(arguments)
    assert job.max_pages == 5
    assert job.obey_robots is False
    assert job.start_urls == ("https://b.test/", "https://c.test/")
    assert job.autothrottle is True  # untouched by flags, left as the file (default) says


def test_flags_alone_describe_a_job():
    arguments = build_parser().parse_args(
        ["run", "--spider", "pages", "--page-url", "https://a.test/x", "--download-delay", "0.25"]
    )
    assert job_from_arguments(arguments) == CrawlJob(
        spider="pages", page_urls=("https://a.test/x",), download_delay=0.25
    )


def test_an_unreadable_job_file_is_a_job_error(tmp_path):
    with pytest.raises(JobError, match="cannot read"):
        load_job(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{spider: site")
    with pytest.raises(JobError, match="not valid JSON"):
        load_job(broken)


@pytest.mark.parametrize(
    ("finish_reason", "errors", "code"),
    [
        ("finished", {}, ExitCode.OK),
        ("page_limit", {"verity/errors/http_404": 3}, ExitCode.OK),
        ("finished", {"verity/errors/submit_failed": 1}, ExitCode.SUBMISSION_FAILED),
        ("finished", {"verity/errors/api_rejected": 1}, ExitCode.SUBMISSION_FAILED),
        ("api_unauthorized", {"verity/errors/api_unauthorized": 1}, ExitCode.API_UNAUTHORIZED),
        ("cancelled", {}, ExitCode.CANCELLED),
        ("memusage_exceeded", {}, ExitCode.CRASHED),
    ],
)
def test_exit_codes_tell_how_a_crawl_ended(finish_reason, errors, code):
    assert exit_code(finish_reason, errors) == code
