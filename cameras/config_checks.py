"""Checks and error wording shared by the config models of both roles (the edge imports this)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
"""Ids and names that travel in URLs, MQTT topics, file names and unit names: cameras, zones,
sites, exits."""
TOPIC_PREFIX_PATTERN = r"^[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,4}$"
"""An MQTT topic prefix: one to five names joined by '/'."""


class StrictConfig(BaseModel):
    """A config section that refuses unknown keys (a typo is an error, not a silent default)."""

    model_config = ConfigDict(extra="forbid")


def require_unique(names: Iterable[str], what: str) -> None:
    """Raise `ValueError` naming every name given more than once (`what`: e.g. "zone names")."""
    listed = list(names)
    repeated = sorted({n for n in listed if listed.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")


def describe_validation_error(exc: ValidationError) -> str:
    """'field.path: reason' for each problem, joined on one line."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown setting"
        parts.append(f"{where}: {reason}")
    return "; ".join(parts)
