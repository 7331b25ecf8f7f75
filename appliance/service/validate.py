"""Validate a role's config the way its service will load it, before any unit is written.

The service gets `${VAR}` values from its EnvironmentFile= (root-only, read by systemd), not
from the installer's shell: the file's variables are added to the environment while the
config is validated, so a reference the service could not resolve fails here already.
Relative paths in a config resolve under the service's WorkingDirectory (/var/lib/appliance);
`paths_outside_state` says which paths the unit must open up (ReadWritePaths=, ProtectHome=).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from appliance.config_loader import ConfigError, load_config
from appliance.service.units import STATE_DIR, Role
from cameras.config_checks import NAME_PATTERN

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # as in config_loader
_SAFE_ID = re.compile(NAME_PATTERN)  # as CameraConfig.id


@dataclass(frozen=True)
class ValidatedConfig:
    path: Path
    instance: str | None
    """The camera id (one unit instance per camera)."""
    env_file: Path
    env_loaded: bool
    writes: tuple[Path, ...] = ()
    """Absolute paths outside /var/lib/appliance the service writes."""
    reads: tuple[Path, ...] = ()
    """Absolute files it reads besides its config (a video file, a model)."""
    notes: list[str] = field(default_factory=list)


def read_env_file(path: Path) -> dict[str, str] | None:
    """`KEY=VALUE` lines as systemd's EnvironmentFile= reads them; None if the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read environment file ({exc.strerror})") from None
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


@contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def validate(role: Role, path: Path, config_dir: Path) -> ValidatedConfig:
    """Load `path` with the role's model; ConfigError (one line) when the service could not."""
    data = _raw(path)
    instance = _camera_id(data) if role.instanced else None
    if role.instanced and instance is None:
        from cameras.config import CameraConfig

        load_config(path, CameraConfig)  # says what is wrong with the file or its id
        raise ConfigError(f"{path}: id: a camera id is needed to name the unit")
    env_file = role.env_path(config_dir, instance)
    env = read_env_file(env_file)
    missing = sorted(_references(data) - set(env or {}))
    if missing:
        names = ", ".join("${" + name + "}" for name in missing)
        raise ConfigError(
            f"{path}: {names} not set in {env_file}: the service reads variables only from"
            " that file (NAME=value lines, mode 0600)"
        )
    with environment(env or {}):
        if role.name == "edge":
            return _edge(path, env_file, env is not None)
        if role.name == "camera":
            return _camera(path, env_file, env is not None)
        return _ui(path, env_file, env is not None)


def _raw(path: Path) -> object:
    """The YAML as it is, before validation; None if unreadable (load_config says why)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def camera_id_of(path: Path) -> str | None:
    """The id in a camera config, without validating the rest (uninstall needs no more)."""
    return _camera_id(_raw(path))


def _camera_id(data: object) -> str | None:
    """The camera id, read before validation (it names the env file validation needs)."""
    camera_id = data.get("id") if isinstance(data, dict) else None
    return camera_id if isinstance(camera_id, str) and _SAFE_ID.match(camera_id) else None


def _references(value: object) -> set[str]:
    """Names of the ${VAR} references in the config's values."""
    if isinstance(value, dict):
        return set().union(*(_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    return set(_ENV_REFERENCE.findall(value)) if isinstance(value, str) else set()


def _edge(path: Path, env_file: Path, env_loaded: bool) -> ValidatedConfig:
    from appliance.edge.config import EdgeConfig

    config = load_config(path, EdgeConfig)
    notes = []
    data_dir = config.data_dir
    if not data_dir.is_absolute():
        notes.append(f"data_dir {data_dir} is relative: the service writes {STATE_DIR / data_dir}")
    writes = () if _under(data_dir, STATE_DIR) or not data_dir.is_absolute() else (data_dir,)
    reads: tuple[Path, ...] = ()
    model = config.detector.yolo_onnx.model_path
    if config.detector.kind == "yolo-onnx" and model is not None:
        if Path(model).is_absolute():
            reads = (Path(model),)
        else:
            notes.append(f"model_path {model} is relative: the service reads {STATE_DIR / model}")
    return ValidatedConfig(path, None, env_file, env_loaded, writes, reads, notes)


def _camera(path: Path, env_file: Path, env_loaded: bool) -> ValidatedConfig:
    from cameras.config import CameraConfig
    from cameras.sources import SourceKind, classify_source

    config = load_config(path, CameraConfig)
    reads: tuple[Path, ...] = ()
    notes = []
    if classify_source(config.source) is SourceKind.FILE:
        source = Path(config.source)
        if source.is_absolute():
            reads = (source,)
        else:
            notes.append(f"source {source} is relative: the service reads {STATE_DIR / source}")
    return ValidatedConfig(path, config.id, env_file, env_loaded, (), reads, notes)


def _ui(path: Path, env_file: Path, env_loaded: bool) -> ValidatedConfig:
    from ui.config import UiConfig

    config = load_config(path, UiConfig)
    notes = [f"ui on {config.host}:{config.port}, reading the edge API at {config.edge_url}"]
    return ValidatedConfig(path, None, env_file, env_loaded, notes=notes)


def _under(path: Path, parent: Path) -> bool:
    return path.is_absolute() and path.resolve().is_relative_to(parent)
