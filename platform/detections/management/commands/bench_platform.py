"""``manage.py bench_platform``: the platform benchmark (see detections.benchmark)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detections.benchmark import BenchConfig, run_benchmark


class Command(BaseCommand):
    help = "Benchmark cached look-ups, new-image latency and pipeline throughput (prints figures)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--images", type=int, default=BenchConfig.images)
        parser.add_argument("--clients", type=int, default=BenchConfig.clients)
        parser.add_argument("--seconds", type=float, default=BenchConfig.seconds)
        parser.add_argument("--rate-per-client", type=float, default=BenchConfig.rate_per_client)
        parser.add_argument("--new-image-samples", type=int, default=BenchConfig.new_image_samples)
        parser.add_argument("--port", type=int, default=BenchConfig.port)

    def handle(self, *args: Any, **options: Any) -> None:
        config = BenchConfig(
            port=options["port"],
            images=options["images"],
            clients=options["clients"],
            rate_per_client=options["rate_per_client"],
            seconds=options["seconds"],
            new_image_samples=options["new_image_samples"],
        )
        self.stdout.write(run_benchmark(config))
