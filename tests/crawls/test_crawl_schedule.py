"""A job's schedule lives on the job and is mirrored into celery beat's PeriodicTask, which starts
runs; a schedule that fires while the previous run is still going skips."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crawls.models import CrawlJob, CrawlRun, RunStatus
from crawls.services.jobs import crawl_job_update
from workers.celery import app
from workers.crawl_tasks import start_scheduled_crawl_task

pytestmark = pytest.mark.django_db

START_TASK = "workers.crawl_tasks.start_scheduled_crawl_task"


def beat_entry(job: CrawlJob) -> Any:
    """The job's entry as celery beat's database scheduler reads it."""
    job.refresh_from_db()
    assert job.periodic_task is not None
    return DatabaseScheduler(app=app, lazy=True).all_as_schedule()[job.periodic_task.name]


def test_a_scheduled_job_becomes_a_beat_entry_that_starts_it(
    make_job: Callable[..., CrawlJob],
) -> None:
    job = make_job(schedule_every_minutes=60)

    entry = beat_entry(job)

    assert entry.task == START_TASK
    assert entry.args == [job.pk]
    assert entry.options["queue"] == "io"
    assert entry.schedule.run_every.total_seconds() == 3600


def test_a_cron_schedule_keeps_its_fields_and_time_zone(
    make_job: Callable[..., CrawlJob],
) -> None:
    job = make_job(schedule_cron="30 6 * * 1-5", schedule_timezone="Europe/Berlin")

    task = PeriodicTask.objects.get(pk=job.periodic_task_id)
    crontab = task.crontab
    assert (task.task, json.loads(task.args), task.enabled) == (START_TASK, [job.pk], True)
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "6", "1-5")
    assert (crontab.day_of_month, crontab.month_of_year) == ("*", "*")
    assert str(crontab.timezone) == "Europe/Berlin"
    assert task.interval is None


def test_changing_the_schedule_changes_the_same_beat_entry(
    make_job: Callable[..., CrawlJob],
) -> None:
    job = make_job(schedule_cron="0 6 * * *")
    task_id = job.periodic_task_id

    crawl_job_update(job=job, fields={"schedule_cron": "", "schedule_every_minutes": 90})
    task = PeriodicTask.objects.get(pk=task_id)
    assert (task.crontab, task.interval.every, task.interval.period) == (None, 90, "minutes")

    crawl_job_update(job=job, fields={"enabled": False, "name": "Renamed"})
    task.refresh_from_db()
    assert not task.enabled and task.name == f"Crawl job {job.pk}: Renamed"

    crawl_job_update(job=job, fields={"schedule_every_minutes": None})
    assert not PeriodicTask.objects.filter(pk=task_id).exists()
    job.refresh_from_db()
    assert job.periodic_task is None


def test_what_beat_sends_starts_a_scheduled_run(make_job: Callable[..., CrawlJob]) -> None:
    job = make_job(schedule_every_minutes=60)
    task = job.periodic_task

    run_id = start_scheduled_crawl_task.apply(args=json.loads(task.args)).get()

    run = CrawlRun.objects.get(pk=run_id)
    assert (run.job, run.trigger, run.status) == (job, "scheduled", RunStatus.QUEUED)


def test_a_schedule_firing_during_a_run_skips_instead_of_crawling_twice(
    make_job: Callable[..., CrawlJob],
) -> None:
    job = make_job(schedule_every_minutes=60)
    first = start_scheduled_crawl_task.apply(args=[job.pk]).get()

    assert start_scheduled_crawl_task.apply(args=[job.pk]).get() is None
    assert [str(pk) for pk in CrawlRun.objects.values_list("pk", flat=True)] == [first]


def test_a_disabled_or_deleted_job_is_not_started(make_job: Callable[..., CrawlJob]) -> None:
    job = make_job(schedule_every_minutes=60, enabled=False)

    assert start_scheduled_crawl_task.apply(args=[job.pk]).get() is None
    assert start_scheduled_crawl_task.apply(args=[job.pk + 1000]).get() is None
    assert not CrawlRun.objects.exists()


def test_the_sweep_of_abandoned_runs_is_scheduled_on_the_io_queue() -> None:
    entries = DatabaseScheduler(app=app, lazy=True).all_as_schedule()

    sweep = entries["Sweep abandoned crawl runs"]
    assert sweep.task == "workers.crawl_tasks.sweep_crawl_runs_task"
    assert sweep.options["queue"] == "io"
