"""`python -m crawler run`: the command the platform spawns, and a person can type.

    python -m crawler run --job-file job.json --progress-file progress.jsonl [--output images.jsonl]
    python -m crawler run --spider site --start-url https://example.org/ --max-pages 20 \
        --output images.jsonl

Every job field (see `crawler.job.CrawlJob`) is also a flag, and flags win over the job file.
List fields take one value per flag: `--start-url A --start-url B`. The API token is read from
the environment variable VERITY_API_TOKEN, never from the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crawler.job import SPIDER_NAMES, CrawlJob, JobError, job_from_mapping, load_job
from crawler.pipelines import API_TOKEN_ENV
from crawler.runner import ExitCode, run_crawl

_FLAG_TYPES: dict[str, type] = {"int": int, "float": float}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one crawl job")
    run.add_argument("--job-file", type=Path, help="JSON job written by the platform")
    run.add_argument("--progress-file", type=Path, help="append JSON progress lines here")
    run.add_argument("--output", type=Path, help="write found images here as JSON lines")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    _add_job_flags(run.add_argument_group("job fields (override the job file)"))
    return parser


def _add_job_flags(group: argparse._ArgumentGroup) -> None:
    for job_field in dataclasses.fields(CrawlJob):
        kind = str(job_field.type)
        options: dict[str, Any] = {
            "dest": job_field.name,
            "default": argparse.SUPPRESS,  # absent flags leave the job file's value alone
            "help": job_field.metadata.get("help"),
        }
        flag = "--" + job_field.name.replace("_", "-")
        if kind.startswith("tuple"):
            flag = flag.removesuffix("s")  # --start-url, given once per URL
            options["action"] = "append"
        elif kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif job_field.name == "spider":
            options["choices"] = SPIDER_NAMES
        else:
            options["type"] = _FLAG_TYPES.get(kind, str)
        group.add_argument(flag, **options)


def job_from_arguments(arguments: argparse.Namespace) -> CrawlJob:
    field_names = {f.name for f in dataclasses.fields(CrawlJob)}
    overrides = {name: value for name, value in vars(arguments).items() if name in field_names}
    if arguments.job_file is not None:
        return load_job(arguments.job_file, overrides)
    return job_from_mapping(overrides)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        job = job_from_arguments(arguments)
    except JobError as error:
        print(f"python -m crawler: invalid job: {error}", file=sys.stderr)
        return ExitCode.USAGE
    for path in (arguments.progress_file, arguments.output):
        if path is not None and not path.parent.is_dir():
            print(f"python -m crawler: no folder to write {path} in", file=sys.stderr)
            return ExitCode.USAGE
    if job.api_url and not os.environ.get(API_TOKEN_ENV):
        print(
            f"python -m crawler: {API_TOKEN_ENV} must be set to submit to {job.api_url}",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    return run_crawl(
        job,
        progress_file=arguments.progress_file,
        output=arguments.output,
        log_level=arguments.log_level,
    )
