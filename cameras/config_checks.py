"""Checks shared by the config models of both roles (the edge's models import this too)."""

from __future__ import annotations

from collections.abc import Iterable


def require_unique(names: Iterable[str], what: str) -> None:
    """Raise `ValueError` naming every name given more than once (`what`: e.g. "zone names")."""
    listed = list(names)
    repeated = sorted({n for n in listed if listed.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")
