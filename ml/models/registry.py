"""One registry, one factory: every detector architecture is built by `create_detector(name)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

Factory = Callable[..., nn.Module]
F = TypeVar("F", bound=Factory)

_REGISTRY: dict[str, Factory] = {}


def register_detector(name: str) -> Callable[[F], F]:
    """Decorator: make `factory` buildable as `create_detector(name, **cfg)`."""

    def register(factory: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"detector {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return register


def create_detector(name: str, **cfg: Any) -> nn.Module:
    """A freshly initialised detector: input a normalised NCHW batch, output one logit per image."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown detector {name!r}; registered: {known}") from None
    return factory(**cfg)


def list_detectors() -> list[str]:
    return sorted(_REGISTRY)
