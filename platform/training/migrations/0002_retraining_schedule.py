"""The periodic retraining schedule, as a django-celery-beat task people can edit in the admin
(weekly by default; a schedule kept in settings would be reset at every start)."""

from django.db import migrations

TASK_NAME = "Retrain on reviewer labels"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    weekly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="0", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "workers.train_tasks.scheduled_retraining_task",
            "crontab": weekly,
            "queue": "train",
            "description": "Snapshot new reviewer labels, fine-tune production on them, evaluate "
            "on every holdout set, apply the promotion gate, notify.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
