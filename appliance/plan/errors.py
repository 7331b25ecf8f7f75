"""What `appliance plan` and the benchmarks built on it share: its error and default folder."""

from __future__ import annotations

from pathlib import Path

DEFAULT_PROFILES = Path("profiles")


class PlanError(Exception):
    """A profile, model or exit given to `appliance plan` cannot be used."""
