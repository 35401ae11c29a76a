"""Reading reviewers' labels."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from review.models import HumanLabel, ReviewLabel


def latest_label_subquery(image_ref: str = "image_id") -> Subquery:
    """The newest label of the image in the outer query (for ``annotate``)."""
    newest = ReviewLabel.objects.filter(image_id=OuterRef(image_ref)).order_by("-created_at", "-id")
    return Subquery(newest.values("label")[:1])


def review_labels(*, image_sha256: str | None = None) -> QuerySet[ReviewLabel]:
    labels = ReviewLabel.objects.select_related("reviewer")
    if image_sha256 is not None:
        labels = labels.filter(image_id=image_sha256.lower())
    return labels


def decided_labels_by_image() -> dict[str, int]:
    """Every image's newest label, as training labels (1 = AI, 0 = real); unsure ones left out."""
    newest: dict[str, str] = {}
    for image_id, label in ReviewLabel.objects.order_by(
        "image_id", "-created_at", "-id"
    ).values_list("image_id", "label"):
        newest.setdefault(image_id, label)
    return {
        image_id: int(label == HumanLabel.AI)
        for image_id, label in newest.items()
        if label != HumanLabel.UNSURE
    }
