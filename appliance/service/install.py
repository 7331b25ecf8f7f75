"""What `appliance service install|uninstall` writes or removes, and the commands that follow.

A plan is computed first (the config validated, the unit rendered, every file named) and
carried out only when nothing failed, so an invalid config leaves no file behind. Creating
the user and running systemctl are commands the user runs (printed), or the CLI runs them
when asked (`--create-user`, `--enable`/`--disable`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import appliance
from appliance.service.units import (
    GPU_DROP_IN,
    STATE_DIR,
    Role,
    ServiceError,
    UnitValues,
    render_role,
    template_text,
)
from appliance.service.validate import ValidatedConfig, validate

HOME_ROOTS = (Path("/home"), Path("/root"), Path("/run/user"))
GPU_DROP_IN_NAME = "gpu.conf"


@dataclass(frozen=True)
class FileAction:
    path: Path
    content: str | None = None
    """None: remove the file (or link)."""
    mode: int = 0o644
    group: str | None = None
    """The group that may read it (configs: root:appliance 0640); set when run as root."""
    what: str = ""


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    kind: str
    """"user" (run with --create-user) or "systemctl" (run with --enable/--disable)."""


@dataclass
class Plan:
    unit: str
    actions: list[FileAction] = field(default_factory=list)
    before: list[Command] = field(default_factory=list)
    """Commands to run before the files change (creating the user, stopping the unit)."""
    after: list[Command] = field(default_factory=list)
    by_hand: list[Command] | None = None
    """What to print when the commands are not run (default: before and after)."""
    notes: list[str] = field(default_factory=list)
    config: Path | None = None
    """The config validated."""


@dataclass(frozen=True)
class InstallOptions:
    role: Role
    unit_dir: Path
    config_dir: Path
    user: str
    config: Path | None = None
    gpu: bool = False
    force: bool = False


def installed_executable() -> Path:
    """The `appliance` console script of the running installation (venv bin or PATH)."""
    beside = Path(sys.executable).absolute().parent / "appliance"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("appliance")
    if found:
        return Path(found).absolute()
    raise ServiceError(f"no `appliance` executable next to {sys.executable} or on PATH")


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def useradd(user: str) -> Command:
    argv = ("useradd", "--system", "--user-group", "--home-dir", str(STATE_DIR))
    return Command((*argv, "--no-create-home", "--shell", "/usr/sbin/nologin", user), "user")


def plan_install(options: InstallOptions) -> Plan:
    role = options.role
    if options.gpu and role.name != "edge":
        raise ServiceError("--gpu applies to the edge role only")
    if options.config is None and role.instanced:
        raise ServiceError("camera: --config names the camera's YAML (its id names the unit)")
    source = options.config or role.config_path(options.config_dir)
    checked = validate(role, source, options.config_dir)
    executable = installed_executable()
    protect_home, home_notes = home_policy(checked, executable)
    values = UnitValues(
        executable, options.config_dir, options.user, options.user, protect_home, checked.writes
    )
    plan = Plan(role.unit_name(checked.instance), notes=[*checked.notes, *home_notes])
    plan.config = checked.path
    unit_text = render_role(role, values)
    plan.actions.append(FileAction(options.unit_dir / role.template, unit_text, what="unit"))
    plan.actions.extend(_gpu_actions(options))
    plan.actions.extend(_config_actions(options, checked))
    if not checked.env_loaded:
        plan.notes.append(f"no {checked.env_file}: the service gets no variables from a file")
    if not user_exists(options.user):
        plan.before.append(useradd(options.user))
        # A config copied before the group existed is root-only until then.
        copied = [a.path for a in plan.actions if a.group is not None]
        plan.after.extend(Command(("chgrp", options.user, str(p)), "user") for p in copied)
    plan.after.append(Command(("systemctl", "daemon-reload"), "systemctl"))
    plan.after.append(Command(("systemctl", "enable", "--now", plan.unit), "systemctl"))
    return plan


def home_policy(checked: ValidatedConfig, executable: Path) -> tuple[str, list[str]]:
    """ProtectHome= for what the service needs: `yes` unless it reads (or writes) in /home."""
    code = Path(appliance.__file__).resolve().parents[1]
    reads = [executable, Path(sys.executable).resolve(), code, *checked.reads]
    in_home = [p for p in reads if _in_home(p)]
    writes_home = [p for p in checked.writes if _in_home(p)]
    if not in_home and not writes_home:
        return "yes", []
    paths = ", ".join(str(p) for p in dict.fromkeys([*in_home, *writes_home]))
    note = (
        f"ProtectHome={'no' if writes_home else 'read-only'}: the service needs {paths}; the"
        " service user must be able to reach them (docs/deploy.md installs into /opt/appliance)"
    )
    return ("no" if writes_home else "read-only"), [note]


def _in_home(path: Path) -> bool:
    absolute = Path(os.path.abspath(path))
    return any(absolute.is_relative_to(root) for root in HOME_ROOTS)


def _gpu_actions(options: InstallOptions) -> list[FileAction]:
    drop_in = options.unit_dir / f"{options.role.template}.d" / GPU_DROP_IN_NAME
    if options.gpu:
        return [FileAction(drop_in, template_text(GPU_DROP_IN), what="GPU drop-in")]
    if drop_in.exists():
        return [FileAction(drop_in, None, what="GPU drop-in of an earlier --gpu install")]
    return []


def _config_actions(options: InstallOptions, checked: ValidatedConfig) -> list[FileAction]:
    """Copy the config to where the unit reads it (root:<user> 0640: it holds tokens)."""
    target = options.role.config_path(options.config_dir, checked.instance)
    if target.exists() and target.resolve() == checked.path.resolve():
        return []
    content = checked.path.read_text(encoding="utf-8")
    if target.exists() and target.read_text(encoding="utf-8") != content and not options.force:
        raise ServiceError(f"{target} exists and differs from {checked.path}: --force replaces it")
    return [FileAction(target, content, 0o640, options.user, f"config, from {checked.path}")]


def plan_uninstall(
    role: Role, instance: str | None, unit_dir: Path, config_dir: Path, purge: bool = False
) -> Plan:
    """Remove the unit, its enablement links and drop-ins (`purge`: the installed config too)."""
    unit = role.unit_name(instance)
    plan = Plan(unit)
    plan.before.append(Command(("systemctl", "disable", "--now", unit), "systemctl"))
    links = [p for p in unit_dir.glob(f"*.wants/{unit}") if p.is_symlink()]
    plan.actions.extend(FileAction(p, None, what="enablement link") for p in links)
    others = sorted(
        p.name for p in unit_dir.glob(f"*.wants/{role.unit_name('*')}") if p.name != unit
    )
    template = unit_dir / role.template
    if others:
        plan.notes.append(f"{template.name} stays: still enabled for {', '.join(others)}")
    elif template.exists():
        plan.actions.append(FileAction(template, None, what="unit"))
    drop_in = unit_dir / f"{role.template}.d" / GPU_DROP_IN_NAME
    if drop_in.exists() and not others:
        plan.actions.append(FileAction(drop_in, None, what="GPU drop-in"))
    config = role.config_path(config_dir, instance)
    if purge and config.exists():
        plan.actions.append(FileAction(config, None, what="config"))
    plan.after.append(Command(("systemctl", "daemon-reload"), "systemctl"))
    # The links are gone once the files are: stopping is what is left to do by hand.
    plan.by_hand = [Command(("systemctl", "stop", unit), "systemctl"), *plan.after]
    if not plan.actions:
        plan.notes.append(f"nothing of {unit} found in {unit_dir}")
    return plan
