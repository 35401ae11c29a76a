"""Services write: each takes keyword-only, typed arguments and owns one change of state."""
