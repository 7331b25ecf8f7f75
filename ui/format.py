"""How numbers read on the pages (None: not measured yet)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

DASH = "\N{EN DASH}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f}%"


def number(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return DASH
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".rstrip()


def rate(value: float | None) -> str:
    """Bytes per second, readable."""
    return "unlimited" if value is None else f"{size(value)}/s"


def size(value: float | None) -> str:
    """Bytes, readable."""
    if value is None:
        return DASH
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def clock(epoch: float | None) -> str:
    if epoch is None:
        return DASH
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(epoch: float | None, now: float | None = None) -> str:
    if epoch is None:
        return DASH
    seconds = max(0.0, (time.time() if now is None else now) - epoch)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def shares(counts: dict[str, int] | None) -> str:
    """`changed 60%, arrival 30%, first 10%`: each name's share of the total, largest first."""
    total = sum((counts or {}).values())
    if not total:
        return DASH
    ranked = sorted((counts or {}).items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in ranked)
