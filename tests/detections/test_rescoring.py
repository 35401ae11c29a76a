"""After a promotion, frequently seen images are queued for the new version; history stays."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from detections.models import CheckItem, Verdict
from detections.services.rescoring import rescore_queue
from tests.factories import ModelVersionFactory, SightingFactory, VerdictFactory

pytestmark = pytest.mark.django_db


def judged(version, sightings: int) -> Verdict:
    verdict = VerdictFactory(model_version=version)
    verdict.image.file.save(verdict.image.sha256, ContentFile(b"bytes"), save=True)
    for _ in range(sightings):
        SightingFactory(image=verdict.image)
    return verdict


def test_most_seen_images_are_queued_for_the_new_version_a_few_at_a_time(
    django_capture_on_commit_callbacks,
) -> None:
    old = ModelVersionFactory(stage="archived")
    new = ModelVersionFactory(stage="production")
    rare, common, already = judged(old, 1), judged(old, 5), judged(new, 9)

    with django_capture_on_commit_callbacks(execute=True):
        check = rescore_queue(limit=1)

    assert check is not None and check.reference == f"rescore:{new.label}"
    assert [(i.image_id, i.status) for i in check.items.all()] == [(common.image_id, "scoring")]
    assert rescore_queue(limit=5).items.get().image_id == rare.image_id, "queued ones are skipped"
    assert rescore_queue(limit=5) is None
    assert Verdict.objects.filter(image_id=common.image_id).count() == 1, "old verdict kept"
    assert not CheckItem.objects.filter(image_id=already.image_id).exists()


def test_zero_disables_rescoring() -> None:
    ModelVersionFactory(stage="production")

    assert rescore_queue(limit=0) is None
