"""factory_boy factories for test data."""

from __future__ import annotations

import hashlib
from typing import Any

import factory
from django.utils import timezone

from detections.models import Band, Check, CheckItem, Image, Sighting, Verdict, url_digest
from training.models import ModelVersion


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    name = "verity-ensemble"
    version = factory.Sequence(lambda n: f"0.{n}.0")
    artefact_path = "/nonexistent/artefact"
    artefact_sha256 = factory.LazyAttribute(
        lambda o: hashlib.sha256(o.version.encode()).hexdigest()
    )
    stage = "candidate"


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    sha256 = factory.Sequence(lambda n: hashlib.sha256(f"image-{n}".encode()).hexdigest())
    phash = "8f0f0f0f0f0f0f0f"
    width = 640
    height = 480
    format = "JPEG"
    byte_size = 12345


class SightingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sighting

    image = factory.SubFactory(ImageFactory)
    url = factory.Sequence(lambda n: f"https://news.example/img/{n}.jpg")
    url_hash = factory.LazyAttribute(lambda o: url_digest(o.url))
    page_url = "https://news.example/story"
    page_url_hash = factory.LazyAttribute(lambda o: url_digest(o.page_url))
    source = "api"
    last_seen_at = factory.LazyFunction(timezone.now)
    last_fetched_at = factory.LazyFunction(timezone.now)


class VerdictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Verdict

    image = factory.SubFactory(ImageFactory)
    model_version = factory.SubFactory(ModelVersionFactory)
    probability_ai = 0.97
    band = Band.LIKELY_AI
    model_scores = factory.LazyFunction(lambda: {"cnn": 0.95, "resnet50": 0.98, "face": None})
    face_found = False


class CheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Check

    source = "api"


class CheckItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckItem

    check_request = factory.SubFactory(CheckFactory)
    index = factory.Sequence(int)
    url = factory.Sequence(lambda n: f"https://news.example/img/{n}.jpg")


def verdict_seen_at(url: str, version: ModelVersion, **verdict: Any) -> Verdict:
    """A verdict by ``version`` for an image freshly fetched from ``url``."""
    made = VerdictFactory(model_version=version, **verdict)
    SightingFactory(image=made.image, url=url)
    return made
