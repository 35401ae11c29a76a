"""docker-compose.yml and the Dockerfile agree with what the code expects (no Docker engine here,
so the file is checked rather than run)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_production_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= {
        "postgres",
        "redis",
        "web",
        "worker-io",
        "worker-gpu",
        "beat",
        "flower",
    }


def test_each_worker_consumes_the_queue_its_tasks_are_routed_to(compose: dict[str, Any]) -> None:
    routed_queues = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    consumed = set()
    for service in compose["services"].values():
        command = service.get("command", [])
        if command[:4] == ["celery", "-A", "workers", "worker"]:
            consumed.update(command[command.index("-Q") + 1].split(","))
    assert routed_queues <= consumed, f"queues nobody consumes: {routed_queues - consumed}"


def test_the_gpu_worker_reserves_an_nvidia_gpu_and_scores_in_one_process(
    compose: dict[str, Any],
) -> None:
    gpu = compose["services"]["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert gpu["command"][gpu["command"].index("--pool") + 1] == "solo"


def test_services_run_modules_that_exist(compose: dict[str, Any]) -> None:
    import importlib

    web = compose["services"]["web"]["command"]
    assert web[web.index("--pythonpath") + 1] == "platform"
    importlib.import_module(web[web.index("--pythonpath") + 2])  # verity.wsgi
    importlib.import_module("workers.celery")


def test_environment_names_are_the_ones_settings_read(compose: dict[str, Any]) -> None:
    settings_source = (REPO_ROOT / "platform/verity/settings.py").read_text()
    read_by_settings = set(re.findall(r'env_\w+\("([A-Z_]+)"', settings_source))
    read_by_settings |= {"DATABASE_URL", "CELERY_BROKER_URL"}
    environment = compose["x-verity-env"]
    assert set(environment) <= read_by_settings, set(environment) - read_by_settings
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert environment["VERITY_CACHE_URL"].startswith("redis://redis:")


def test_database_and_broker_hosts_are_compose_services(compose: dict[str, Any]) -> None:
    environment = compose["x-verity-env"]
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert compose["services"]["postgres"]["environment"]["POSTGRES_DB"] == "verity"


def test_dockerfile_installs_the_lock_and_serves_the_wsgi_app() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    assert "verity.wsgi" in dockerfile
    assert "FROM python:3.11" in dockerfile
