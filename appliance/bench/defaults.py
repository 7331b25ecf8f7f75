"""Defaults the benchmarks share, kept apart so argument parsing imports nothing heavy."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CACHE_DIR = Path("data/bench-cache")
"""Per-clip analyses and built clips (the quiet clip) are cached here."""
