"""Fixtures shared by the whole suite.

The suite runs against the real services named by the environment (``make test`` points
DATABASE_URL at PostgreSQL and CELERY_BROKER_URL / VERITY_CACHE_URL at Redis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rest_framework.test import APIClient

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data sets (`VERITY_DATA_DIR`, default ../shared/datasets): tests that read or
    train on them skip without them (CI and this machine have them)."""
    from ml.data import default_data_dir

    root = default_data_dir()
    if not all((root / name / "MANIFEST.tsv").is_file() for name in ("cifake", "faces", "wild")):
        pytest.skip(f"shared datasets not found at {root} (set VERITY_DATA_DIR)")
    return root


def pytest_configure(config: pytest.Config) -> None:
    """WhiteNoise serves collected static files from STATIC_ROOT (`make run` fills it); tests
    never collect them, so give it an empty folder rather than a warning on every request."""
    from django.conf import settings

    if settings.configured:
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _isolated_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """Each Django test gets its own media folder, an empty cache and fresh process caches."""
    if "django_db_setup" not in request.fixturenames and not _uses_django(request):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.MEDIA_ROOT = tmp_path / "media"
    from django.core.cache import cache

    from training.selectors import forget_cached_production_version

    cache.clear()
    forget_cached_production_version()
    yield
    forget_cached_production_version()


def _uses_django(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db", "live_server")
    )


@pytest.fixture
def make_token(db: None) -> Callable[..., tuple[object, str]]:
    """Create a token: ``token, key = make_token(scopes=["read"], kind="api")``."""
    from apitokens.services import token_create

    def make(
        scopes: tuple[str, ...] = ("submit", "read"), kind: str = "api", name: str = "test"
    ) -> tuple[object, str]:
        return token_create(name=name, scopes=list(scopes), kind=kind)

    return make


@pytest.fixture
def client_with(make_token: Callable[..., tuple[object, str]]) -> Callable[..., APIClient]:
    """An API client authenticated with a new token of the given scopes."""

    def make(*scopes: str, kind: str = "api") -> APIClient:
        from rest_framework.test import APIClient

        _, key = make_token(scopes=scopes or ("submit", "read"), kind=kind)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@pytest.fixture
def api(client_with: Callable[..., APIClient]) -> APIClient:
    """A client whose token may submit and read."""
    return client_with("submit", "read")


@pytest.fixture
def production_version(db: None) -> object:
    """The production model version (the shipped ensemble's identity, or a stand-in path)."""
    from tests.factories import ModelVersionFactory

    return ModelVersionFactory(stage="production")
