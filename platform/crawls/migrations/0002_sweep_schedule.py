"""The sweep that ends crawl runs a dead worker or a lost message left active, as a
django-celery-beat task (editable in the admin). It runs on the io queue: when the crawl worker
is the one that died, nobody would be left to consume a sweep sent to the crawl queue."""

from django.db import migrations

TASK_NAME = "Sweep abandoned crawl runs"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "workers.crawl_tasks.sweep_crawl_runs_task",
            "interval": every_minute,
            "queue": "io",
            "description": "Fail crawls whose worker stopped reporting progress and runs never "
            "started; write the reports of runs whose verdicts are in or whose time is up.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crawls", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
