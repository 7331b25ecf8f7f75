"""Carry out a plan: write or remove its files, run the commands the user asked us to run."""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

from appliance.service.install import Command, FileAction
from appliance.service.units import ServiceError

log = logging.getLogger(__name__)
Say = Callable[[str], None]


def apply_actions(actions: list[FileAction], say: Say) -> None:
    for action in actions:
        if action.content is None:
            _remove(action.path)
            say(f"removed {action.path} ({action.what})")
        else:
            _write(action)
            say(f"wrote {action.path} ({action.what})")


def run_commands(commands: list[Command], say: Say) -> None:
    for command in commands:
        say(f"running: {shlex.join(command.argv)}")
        try:
            result = subprocess.run(command.argv, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise ServiceError(f"{command.argv[0]}: {exc.strerror}") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {result.returncode}"
            raise ServiceError(f"{shlex.join(command.argv)} failed: {reason}")


def _write(action: FileAction) -> None:
    assert action.content is not None
    path = action.path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(action.content, encoding="utf-8")
        os.chmod(temporary, action.mode)
        _set_group(temporary, action.group, path)
        os.replace(temporary, path)
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror}") from None


def _set_group(path: Path, group: str | None, target: Path) -> None:
    """root:<group>, so the service user reads the file and nobody else does (as root only)."""
    if group is None or os.geteuid() != 0:
        return
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        log.debug("group %s does not exist (yet): %s stays root-only", group, target)
        return
    os.chown(path, 0, gid)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ServiceError(f"cannot remove {path}: {exc.strerror}") from None
    if path.parent.name.endswith(".d"):
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty
