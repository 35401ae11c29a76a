"""Recording reviewers' labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from detections.models import Image
from review.models import HumanLabel, ReviewLabel
from verity.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def review_label_create(
    *, image_sha256: str, label: str, reviewer: User | None, note: str = ""
) -> ReviewLabel:
    """A reviewer's label for an image; the newest label of an image is the one that counts."""
    if label not in HumanLabel.values:
        raise ApplicationError("invalid_label", f"Label must be one of {HumanLabel.values}.")
    image = Image.objects.filter(pk=image_sha256.lower()).first()
    if image is None:
        raise ApplicationError("not_found", "No image with this SHA-256 is known.", status_code=404)
    return ReviewLabel.objects.create(image=image, label=label, reviewer=reviewer, note=note)
