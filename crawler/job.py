"""What one crawl should do: the job file the platform writes, validated before anything starts.

`CrawlJob` is the single description of a crawl. The platform's `crawls` app writes it as JSON
(`--job-file`); a person at the terminal gives the same fields as flags (see `crawler.cli`), which
are generated from the fields below so the two can never drift apart.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

SpiderName = Literal["site", "sitemap", "pages"]
SPIDER_NAMES: tuple[str, ...] = get_args(SpiderName)

# The platform stores `reference` with the check; its API accepts at most this many characters.
MAX_REFERENCE_LENGTH = 200
# The check API refuses larger batches (400 batch_too_large).
MAX_BATCH_SIZE = 100


class JobError(ValueError):
    """The job cannot run as described; the message says which field is wrong and why."""


def _doc(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class CrawlJob:
    """One crawl: which spider, where to start, how politely, and where to submit what it finds."""

    spider: SpiderName = field(metadata=_doc("site | sitemap | pages"))
    start_urls: tuple[str, ...] = field(default=(), metadata=_doc("site spider: where to start"))
    sitemap_urls: tuple[str, ...] = field(
        default=(), metadata=_doc("sitemap spider: sitemap, sitemap index or robots.txt URLs")
    )
    page_urls: tuple[str, ...] = field(default=(), metadata=_doc("pages spider: pages to read"))
    allowed_domains: tuple[str, ...] = field(
        default=(), metadata=_doc("domains to stay within (default: those of the given URLs)")
    )
    max_pages: int = field(default=1000, metadata=_doc("stop after reading this many pages"))
    max_depth: int = field(default=3, metadata=_doc("link depth from the start URLs (0: none)"))
    obey_robots: bool = field(default=True, metadata=_doc("obey robots.txt"))
    concurrency_per_domain: int = field(default=1, metadata=_doc("parallel requests per domain"))
    concurrent_requests: int = field(default=16, metadata=_doc("parallel requests in all"))
    download_delay: float = field(default=0.5, metadata=_doc("seconds between requests"))
    autothrottle: bool = field(default=True, metadata=_doc("adapt the delay to server latency"))
    retry_times: int = field(default=2, metadata=_doc("retries of a failed page download"))
    retry_backoff: float = field(
        default=1.0, metadata=_doc("seconds before the first page retry; doubles each time")
    )
    contact_url: str = field(
        default="https://github.com/verity-project/verity",
        metadata=_doc("URL in the user agent where site owners can reach us"),
    )
    exempt_networks: tuple[str, ...] = field(
        default=(),
        metadata=_doc("private networks the crawl may reach anyway (tests: 127.0.0.0/8)"),
    )
    api_url: str | None = field(
        default=None, metadata=_doc("platform base URL; without it images only go to --output")
    )
    reference: str = field(default="", metadata=_doc("free text stored with each check"))
    batch_size: int = field(default=50, metadata=_doc("images per check request (max 100)"))
    api_retries: int = field(default=4, metadata=_doc("retries of a batch on 5xx or no connection"))
    api_backoff: float = field(
        default=1.0, metadata=_doc("seconds before the first batch retry; doubles each time")
    )

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise JobError("; ".join(problems))

    @property
    def seed_urls(self) -> tuple[str, ...]:
        """The URLs this job names, whatever the spider: they decide the default domains."""
        return self.start_urls + self.sitemap_urls + self.page_urls

    @property
    def effective_allowed_domains(self) -> tuple[str, ...]:
        if self.allowed_domains:
            return self.allowed_domains
        hosts = (urlsplit(url).hostname for url in self.seed_urls)
        return tuple(dict.fromkeys(host for host in hosts if host))


def _problems(job: CrawlJob) -> list[str]:
    problems = []
    if job.spider not in SPIDER_NAMES:
        problems.append(f"spider must be one of {', '.join(SPIDER_NAMES)}, not {job.spider!r}")
    problems += _missing_urls(job)
    problems += [f"not an http(s) URL: {url!r}" for url in job.seed_urls if not _is_http(url)]
    if job.api_url is not None and not _is_http(job.api_url):
        problems.append(f"api_url is not an http(s) URL: {job.api_url!r}")
    for name in ("max_pages", "concurrency_per_domain", "concurrent_requests", "batch_size"):
        if getattr(job, name) < 1:
            problems.append(f"{name} must be at least 1")
    for name in ("max_depth", "retry_times", "api_retries"):
        if getattr(job, name) < 0:
            problems.append(f"{name} must not be negative")
    for name in ("download_delay", "retry_backoff", "api_backoff"):
        if getattr(job, name) < 0:
            problems.append(f"{name} must not be negative")
    if job.batch_size > MAX_BATCH_SIZE:
        problems.append(f"batch_size must be at most {MAX_BATCH_SIZE} (the API's limit)")
    if len(job.reference) > MAX_REFERENCE_LENGTH:
        problems.append(f"reference must be at most {MAX_REFERENCE_LENGTH} characters")
    if not _is_http(job.contact_url):
        problems.append(f"contact_url is not an http(s) URL: {job.contact_url!r}")
    return problems


def _missing_urls(job: CrawlJob) -> list[str]:
    if job.spider == "site" and not job.start_urls:
        return ["the site spider needs start_urls"]
    if job.spider == "sitemap" and not (job.sitemap_urls or job.start_urls):
        return ["the sitemap spider needs sitemap_urls (or start_urls to find robots.txt)"]
    if job.spider == "pages" and not job.page_urls:
        return ["the pages spider needs page_urls"]
    return []


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def job_from_mapping(values: dict[str, Any]) -> CrawlJob:
    """Build a job from JSON-like values, refusing unknown keys so a typo never goes unnoticed."""
    known = {f.name: f for f in dataclasses.fields(CrawlJob)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise JobError(f"unknown job field(s): {', '.join(unknown)}")
    try:
        return CrawlJob(**{name: _coerce(known[name], value) for name, value in values.items()})
    except TypeError as error:  # a required field is missing
        raise JobError(str(error)) from error


# What JSON may hold for each field type (a bool is an int to Python, but not a number to us).
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "str | None": (str, type(None)),
}


def _coerce(job_field: dataclasses.Field[Any], value: Any) -> Any:
    expected = str(job_field.type)
    if expected.startswith("tuple"):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise JobError(f"{job_field.name} must be a list of strings")
        return tuple(value)
    allowed = _JSON_TYPES.get(expected)
    if allowed and (not isinstance(value, allowed) or _is_bool_as_number(value, expected)):
        raise JobError(f"{job_field.name} must be {expected}, not {type(value).__name__}")
    return value


def _is_bool_as_number(value: Any, expected: str) -> bool:
    return isinstance(value, bool) and expected in {"int", "float"}


def load_job(path: Path, overrides: dict[str, Any] | None = None) -> CrawlJob:
    """Read a job file; `overrides` (from command-line flags) win over what the file says."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise JobError(f"cannot read job file {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise JobError(f"job file {path} is not valid JSON: {error}") from error
    if not isinstance(values, dict):
        raise JobError(f"job file {path} must hold a JSON object")
    return job_from_mapping({**values, **(overrides or {})})
