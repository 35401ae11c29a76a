"""`FetchPolicy`: every limit of a fetch in one frozen value; the defaults are production's."""

from __future__ import annotations

from dataclasses import dataclass, field

from safefetch.addresses import IPNetwork
from safefetch.urls import DEFAULT_PORTS


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch (all redirects included).

    `exempt_networks` are let through the address guard anyway: tests put 127.0.0.0/8 there to
    fetch from their own server, production leaves it empty (or names an internal mirror).
    `ca_certs` is a PEM bundle to trust instead of the system store (tests with their own CA).
    """

    max_bytes: int = 20_000_000
    connect_timeout: float = 5.0
    total_timeout: float = 15.0  # wall clock for the whole fetch, slow-drip bodies included
    max_redirects: int = 5
    allowed_schemes: frozenset[str] = frozenset(DEFAULT_PORTS)
    allowed_ports: frozenset[int] | None = None  # None: any port
    allow_https_downgrade: bool = False  # may an https link redirect to plain http?
    exempt_networks: frozenset[IPNetwork] = field(default_factory=frozenset)
    ca_certs: str | None = None
    user_agent: str = "Verity/0.1 (AI-generated image checker)"

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.connect_timeout <= 0 or self.total_timeout <= 0:
            raise ValueError("max_bytes and the timeouts must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects cannot be negative")
        if not self.allowed_schemes or not self.allowed_schemes <= frozenset(DEFAULT_PORTS):
            raise ValueError(f"allowed_schemes must be a non-empty subset of {set(DEFAULT_PORTS)}")


DEFAULT_POLICY = FetchPolicy()
