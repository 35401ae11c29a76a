"""Pages for people: an image's verdict history (linked from the extension's badges), and its
bytes for staff reviewing in the admin."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from detections.selectors import image_get, image_sightings, image_verdicts
from review.selectors import review_labels
from verity.errors import ApplicationError


def image_history_page(request: HttpRequest, sha256: str) -> HttpResponse:
    """Public: what Verity said about this image, when, with which model, and what reviewers
    said. No bytes and no URLs for anonymous visitors (they may reveal private pages); staff see
    the image and where it was seen."""
    try:
        image = image_get(sha256=sha256)
    except ApplicationError as missing:
        raise Http404("No image with this SHA-256 is known.") from missing
    staff = request.user.is_authenticated and request.user.is_staff
    context = {
        "image": image,
        "verdicts": image_verdicts(image=image),
        "labels": review_labels(image_sha256=image.sha256)[:20],
        "staff": staff,
        "sightings": image_sightings(image=image)[:50] if staff else [],
    }
    return render(request, "review/image_history.html", context)


@staff_member_required
def image_content(request: HttpRequest, sha256: str) -> FileResponse:
    try:
        image = image_get(sha256=sha256)
    except ApplicationError as missing:
        raise Http404 from missing
    if not image.file:
        raise Http404
    response = FileResponse(image.file.open("rb"), content_type=f"image/{image.format.lower()}")
    response["Content-Security-Policy"] = "default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
