"""``manage.py check_image PATH_OR_URL``: a one-off verdict in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detections.models import Source, Verdict
from detections.serializers import VerdictOutputSerializer
from detections.services.safety import ItemRejected, TransientFetchFailure, fetch_untrusted


class Command(BaseCommand):
    help = "Judge one image (a file path or an http(s) URL) with the production model version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("image", help="Path to an image file, or an http(s) URL.")
        parser.add_argument("--json", action="store_true", help="Print the verdict as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        from detections.engine import current_scorer  # loads torch: only when really needed
        from detections.services.pipeline import image_judge_now

        target: str = options["image"]
        is_url = target.lower().startswith(("http://", "https://"))
        try:
            data = fetch_untrusted(target) if is_url else _read_file(target)
            verdict = image_judge_now(
                data=data, url=target if is_url else "", source=Source.API, scorer=current_scorer()
            )
        except (ItemRejected, TransientFetchFailure) as failure:
            raise CommandError(f"{failure.code}: {failure.message}") from failure
        if options["json"]:
            self.stdout.write(json.dumps(VerdictOutputSerializer(verdict).data, indent=2))
        else:
            self.stdout.write(_describe(verdict))


def _read_file(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No file at {path}.")
    return file.read_bytes()


def _describe(verdict: Verdict) -> str:
    scores = ", ".join(
        f"{name} {score:.3f}" if score is not None else f"{name} out of scope"
        for name, score in verdict.model_scores.items()
    )
    lines = [
        f"Verdict:     {verdict.get_band_display()} ({verdict.band})",
        f"P(AI):       {verdict.probability_ai:.3f}",
        f"Model:       {verdict.model_version.label}",
        f"Per model:   {scores}",
        f"Face found:  {'yes' if verdict.face_found else 'no'}",
    ]
    if verdict.abstain_reason:
        lines.append(f"Abstained:   {verdict.abstain_reason}")
    lines.append(f"SHA-256:     {verdict.image_id}")
    return "\n".join(lines)
