"""The systemd unit templates in systemd/ and how one role's unit is rendered from them.

Templates hold `@NAME@` placeholders (systemd itself uses `$VAR`, `${VAR}` and `%x`):
@APPLIANCE@ the installed `appliance` executable, @CONFIG_DIR@ (/etc/appliance), @USER@ and
@GROUP@, @PROTECT_HOME@ (yes, or read-only when the installation lives under /home) and
@READ_WRITE_PATHS@ (an absolute data_dir outside /var/lib/appliance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "systemd"
GPU_DROP_IN = "appliance-edge-gpu.conf"
STATE_DIR = Path("/var/lib/appliance")
DEFAULT_CONFIG_DIR = Path("/etc/appliance")
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
# What a unit file can carry unquoted and unescaped: no spaces, '%' specifiers, quotes, '$'.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./+@:=,-]*$")
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class ServiceError(Exception):
    """Installing or removing a unit failed; str() is the one-line message for the user."""


@dataclass(frozen=True)
class Role:
    name: str
    template: str
    instanced: bool = False
    """One unit per camera: appliance-camera@<camera id>.service from one template."""

    def unit_name(self, instance: str | None = None) -> str:
        if not self.instanced:
            return self.template
        if not instance:
            raise ServiceError(f"the {self.name} role needs an instance (the camera id)")
        return self.template.replace("@.", f"@{instance}.")

    def config_path(self, config_dir: Path, instance: str | None = None) -> Path:
        """Where the unit reads its config (what ExecStart names)."""
        if self.instanced:
            return config_dir / "cameras" / f"{instance}.yaml"
        return config_dir / f"{self.name}.yaml"

    def env_path(self, config_dir: Path, instance: str | None = None) -> Path:
        """The unit's EnvironmentFile= (optional): values for ${VAR} in the config."""
        return self.config_path(config_dir, instance).with_suffix(".env")


ROLES = {
    "edge": Role("edge", "appliance-edge.service"),
    "camera": Role("camera", "appliance-camera@.service", instanced=True),
    "ui": Role("ui", "appliance-ui.service"),
}


@dataclass(frozen=True)
class UnitValues:
    """What the installer fills into a template."""

    appliance: Path
    config_dir: Path
    user: str
    group: str
    protect_home: str = "yes"
    read_write_paths: tuple[Path, ...] = ()

    def placeholders(self) -> dict[str, str]:
        for path in (self.appliance, self.config_dir, *self.read_write_paths):
            check_path(path)
        for name in (self.user, self.group):
            if not _SAFE_NAME.match(name):
                raise ServiceError(f"{name!r} is not a valid user or group name")
        return {
            "APPLIANCE": str(self.appliance),
            "CONFIG_DIR": str(self.config_dir),
            "USER": self.user,
            "GROUP": self.group,
            "PROTECT_HOME": self.protect_home,
            "READ_WRITE_PATHS": " ".join(str(p) for p in self.read_write_paths),
        }


def check_path(path: Path) -> None:
    if not _SAFE_PATH.match(str(path)):
        raise ServiceError(
            f"{path}: a unit file needs an absolute path without spaces, quotes, '%' or '$'"
        )


def template_text(name: str) -> str:
    path = TEMPLATE_DIR / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServiceError(
            f"unit template {path} not readable ({exc.strerror}): install the appliance from its"
            " source checkout (pip install -e .), see docs/deploy.md"
        ) from None


def render(text: str, values: UnitValues) -> str:
    """Fill every placeholder; a placeholder left over is a bug in the template."""
    for key, value in values.placeholders().items():
        text = text.replace(f"@{key}@", value)
    left = _PLACEHOLDER.search(text)
    if left:
        raise ServiceError(f"unit template has an unknown placeholder {left.group(0)}")
    return text


def render_role(role: Role, values: UnitValues) -> str:
    return render(template_text(role.template), values)
