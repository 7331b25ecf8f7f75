"""A Darknet `.cfg` file as a list of sections (`[net]`, `[convolutional]`, `[yolo]`, ...).

Each section keeps the line it starts on, so every error names the file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from appliance.models.errors import ModelToolError

T = TypeVar("T")

# Layers the converter builds; anything else in a cfg stops it with the layer's name and line.
SUPPORTED_LAYERS = (
    "convolutional",
    "maxpool",
    "route",
    "upsample",
    "shortcut",
    "yolo",
    "dropout",
)


@dataclass(frozen=True)
class CfgSection:
    """One `[kind]` block; `options` maps each key to its raw text."""

    kind: str
    line: int
    path: str
    options: dict[str, str] = field(default_factory=dict)

    def where(self) -> str:
        return f"{self.path}:{self.line} [{self.kind}]"

    def fail(self, problem: str) -> ModelToolError:
        return ModelToolError(f"{self.where()}: {problem}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.options.get(key, default)
        if value is None:
            raise self.fail(f"'{key}' is missing")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        return self._parsed(key, default, int, "a whole number")

    def number(self, key: str, default: float) -> float:
        return self._parsed(key, default, float, "a number")

    def integers(self, key: str, default: list[int] | None = None) -> list[int]:
        def parse(raw: str) -> list[int]:
            return [int(part) for part in raw.split(",") if part.strip()]

        return self._parsed(key, default, parse, "whole numbers separated by commas")

    def _parsed(self, key: str, default: T | None, parse: Callable[[str], T], kind: str) -> T:
        """`key`'s value read by `parse`, `default` when absent (missing without one)."""
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise self.fail(f"'{key}' is missing")
            return default
        try:
            return parse(raw)
        except ValueError:
            raise self.fail(f"'{key}' must be {kind}, got {raw!r}") from None


@dataclass(frozen=True)
class DarknetCfg:
    """The `[net]` section and the layers after it, in file order."""

    path: str
    net: CfgSection
    layers: list[CfgSection]


def read_cfg(path: Path) -> DarknetCfg:
    """Parse `path`; `ModelToolError` names the file and line of anything wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelToolError(f"{path}: cannot read the cfg ({exc})") from None
    return parse_cfg(text, str(path))


def parse_cfg(text: str, path: str) -> DarknetCfg:
    sections = _sections(text, path)
    if not sections or sections[0].kind not in ("net", "network"):
        raise ModelToolError(f"{path}: a Darknet cfg starts with a [net] section")
    layers = sections[1:]
    for layer in layers:
        if layer.kind not in SUPPORTED_LAYERS:
            raise layer.fail(
                "layer type not supported by the converter (supported:"
                f" {', '.join(SUPPORTED_LAYERS)})"
            )
    if not any(layer.kind == "yolo" for layer in layers):
        raise ModelToolError(f"{path}: no [yolo] layer: not a YOLO detection model")
    return DarknetCfg(path, sections[0], layers)


def _sections(text: str, path: str) -> list[CfgSection]:
    sections: list[CfgSection] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ModelToolError(f"{path}:{number}: malformed section header {line!r}")
            sections.append(CfgSection(line[1:-1].strip().lower(), number, path))
        elif "=" in line and sections:
            key, value = (part.strip() for part in line.split("=", 1))
            sections[-1].options[key] = value
        else:
            raise ModelToolError(f"{path}:{number}: expected 'key = value' or [section]: {line!r}")
    return sections
