"""A job's schedule, mirrored into the django-celery-beat PeriodicTask that celery beat reads.

The job holds the schedule (cron or every N minutes); this service keeps its PeriodicTask in step
whenever a job is saved, so the beat admin always shows what the job says.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab
from django.conf import settings
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from crawls.models import CrawlJob

SCHEDULED_TASK = "workers.crawl_tasks.start_scheduled_crawl_task"
# Starting a run is quick bookkeeping: the io queue does it even while every crawl slot is busy.
SCHEDULED_TASK_QUEUE = "io"
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def schedule_problems(job: CrawlJob) -> list[str]:
    """What is wrong with the job's schedule, in words (an empty list: nothing)."""
    problems = []
    if job.schedule_cron and job.schedule_every_minutes is not None:
        problems.append("give a cron schedule or an interval, not both")
    if job.schedule_cron:
        problems += _cron_problems(job.schedule_cron)
    minimum = settings.VERITY_CRAWL_MIN_INTERVAL_MINUTES
    if job.schedule_every_minutes is not None and job.schedule_every_minutes < minimum:
        problems.append(f"a job runs at most every {minimum} minutes")
    try:
        ZoneInfo(job.schedule_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"unknown time zone {job.schedule_timezone!r}")
    return problems


def _cron_problems(expression: str) -> list[str]:
    parts = expression.split()
    if len(parts) != len(CRON_FIELDS):
        return [f'cron needs 5 fields ("minute hour day month weekday"), not {len(parts)}']
    try:
        crontab(**dict(zip(CRON_FIELDS, parts, strict=True)))
    except ValueError as error:
        return [f"cron {expression!r} is not valid: {error}"]
    return []


def job_schedule_sync(*, job: CrawlJob) -> PeriodicTask | None:
    """Create, update or delete the job's PeriodicTask to match its schedule and `enabled`."""
    if not job.is_scheduled:
        _drop_periodic_task(job)
        return None
    task = job.periodic_task or PeriodicTask(task=SCHEDULED_TASK)
    task.name = f"Crawl job {job.pk}: {job.name}"[:200]
    task.task = SCHEDULED_TASK
    task.args = json.dumps([job.pk])
    task.queue = SCHEDULED_TASK_QUEUE
    task.enabled = job.enabled
    task.description = f"Starts a run of crawl job {job.pk} ({job.spider} spider)."
    task.crontab, task.interval = _cron_schedule(job), _interval_schedule(job)
    task.save()
    if job.periodic_task_id != task.pk:
        CrawlJob.objects.filter(pk=job.pk).update(periodic_task=task)
        job.periodic_task = task
    return task


def _cron_schedule(job: CrawlJob) -> CrontabSchedule | None:
    if not job.schedule_cron:
        return None
    fields = dict(zip(CRON_FIELDS, job.schedule_cron.split(), strict=True))
    schedule, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=job.schedule_timezone)
    return schedule


def _interval_schedule(job: CrawlJob) -> IntervalSchedule | None:
    if job.schedule_every_minutes is None:
        return None
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=job.schedule_every_minutes, period=IntervalSchedule.MINUTES
    )
    return schedule


def _drop_periodic_task(job: CrawlJob) -> None:
    if job.periodic_task_id is None:
        return
    PeriodicTask.objects.filter(pk=job.periodic_task_id).delete()  # the job's link goes null
    job.periodic_task = None
