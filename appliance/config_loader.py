"""Load a YAML file into a config model; every failure becomes one readable `ConfigError` line.
Write one for a child process (`write_config`), readable by its owner only."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cameras.config_checks import describe_validation_error

Model = TypeVar("Model", bound=BaseModel)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def is_loopback(host: str) -> bool:
    """Whether `host` (a configured listen address) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


class ConfigError(Exception):
    """A config file that cannot be used; str() is the one-line message for the user."""


def load_config(path: Path, model: type[Model], missing: dict[str, Any] | None = None) -> Model:
    """Read `path`, expand `${VAR}` references (secrets from the environment), validate;
    `missing`: settings taken where the file has none (a benchmark's own cameras)."""
    raw = {**(missing or {}), **_read_yaml(path)}
    expanded = _expand_env(raw, path, ())
    try:
        return model.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def _expand_env(value: Any, path: Path, where: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, path, (*where, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, path, (*where, str(i))) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(lambda m: _env_value(m.group(1), path, where), value)
    return value


def _env_value(name: str, path: Path, where: tuple[str, ...]) -> str:
    value = os.environ.get(name)
    if value is None:
        field = ".".join(where) or "(top level)"
        raise ConfigError(f"{path}: {field}: environment variable {name} is not set")
    return value


def write_config(path: Path, content: dict[str, Any], sort_keys: bool = True) -> Path:
    """Write `content` as YAML to `path`, readable and writable by its owner only: the configs
    the appliance writes for its child processes (benchmarks, the demo) carry camera tokens, the
    API token and the database URL, and may go to a folder the user named."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump(content, out, sort_keys=sort_keys)
    return path
