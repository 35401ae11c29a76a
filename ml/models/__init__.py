"""Detector architectures; importing this package registers them all."""

from ml.models import cnn, efficientnet, trace
from ml.models.registry import create_detector, list_detectors, register_detector

__all__ = ["cnn", "create_detector", "efficientnet", "list_detectors", "register_detector", "trace"]
