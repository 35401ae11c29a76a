"""Fixtures for the crawl tests: owners and their API clients, jobs, a local news site, a webhook
receiver, and the settings a crawl needs to reach servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apitokens.services import token_create
from crawls.models import CrawlJob
from crawls.services.jobs import crawl_job_create
from tests.crawls.support import NewsSite, WebhookReceiver, broker
from tests.support import StaticServer

QUICK = {"download_delay": 0.0, "autothrottle": False, "concurrency_per_domain": 4}


@pytest.fixture
def newsroom(db: None) -> Any:
    return get_user_model().objects.create_user("gazette", "desk@gazette.example")


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def newsroom_api(newsroom: Any) -> APIClient:
    """The newsroom's own API client (an API token owned by it, scopes submit and read)."""
    _, key = token_create(name="gazette", scopes=["submit", "read"], owner=newsroom)
    return client_for(key)


@pytest.fixture
def make_job(newsroom: Any) -> Callable[..., CrawlJob]:
    """`make_job(name=..., **fields)`: a job of the newsroom's, saved through the service."""

    def make(**fields: Any) -> CrawlJob:
        owner = fields.pop("owner", newsroom)
        values = {
            "name": "Gazette front page",
            "spider": "site",
            "start_urls": ["https://gazette.example/"],
            **fields,
        }
        return crawl_job_create(fields=values, owner=owner)

    return make


@pytest.fixture
def local_networks(settings: Any) -> None:
    """Crawl targets and webhooks on 127.0.0.1 are allowed (production allows none)."""
    settings.VERITY_FETCH_ALLOW_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def crawl_settings(settings: Any, tmp_path: Path, local_networks: None) -> Any:
    settings.VERITY_CRAWL_DIR = tmp_path / "crawls"
    settings.VERITY_CRAWL_CANCEL_GRACE_SECONDS = 10.0
    return settings


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    server = StaticServer().start()
    yield NewsSite(server)
    server.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[[str], WebhookReceiver]]:
    started: list[WebhookReceiver] = []

    def start(secret: str) -> WebhookReceiver:
        receiver = WebhookReceiver(secret).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def empty_queues() -> None:
    broker().delete("io", "gpu", "crawl")
