"""`appliance service install|uninstall`: systemd units for the edge, camera and UI roles."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from appliance.service.apply import apply_actions, run_commands
from appliance.service.install import (
    Command,
    InstallOptions,
    Plan,
    plan_install,
    plan_uninstall,
)
from appliance.service.units import (
    DEFAULT_CONFIG_DIR,
    DEFAULT_UNIT_DIR,
    ROLES,
    ServiceError,
)
from appliance.service.validate import camera_id_of

EXIT_SERVICE_ERROR = 1


def add_service_parser(roles: Any) -> None:
    service = roles.add_parser(
        "service", help="install or remove the systemd unit of a role (see docs/deploy.md)"
    )
    actions = service.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = actions.add_parser(
        "install", help="validate the config, write the unit and the config, print what's next"
    )
    _common(install)
    install.add_argument(
        "--config",
        type=Path,
        help="the role's YAML, copied to where the unit reads it (default: the one there;"
        " camera: required)",
    )
    install.add_argument("--user", default="appliance", help="user and group the service runs as")
    install.add_argument("--gpu", action="store_true", help="edge: let it use the GPU (Jetson)")
    install.add_argument("--force", action="store_true", help="replace a different config there")
    install.add_argument(
        "--create-user", action="store_true", help="run the useradd command (as root)"
    )
    install.add_argument(
        "--enable", action="store_true", help="run systemctl daemon-reload and enable --now"
    )
    install.set_defaults(handler=_install)
    uninstall = actions.add_parser(
        "uninstall", help="remove the unit, its enablement links and drop-ins"
    )
    _common(uninstall)
    uninstall.add_argument("--instance", help="camera: the camera id")
    uninstall.add_argument("--config", type=Path, help="camera: its config (names the camera)")
    uninstall.add_argument(
        "--purge", action="store_true", help="also remove the config install placed"
    )
    uninstall.add_argument(
        "--disable", action="store_true", help="first run systemctl disable --now"
    )
    uninstall.set_defaults(handler=_uninstall)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=sorted(ROLES))
    parser.add_argument(
        "--unit-dir", type=Path, default=DEFAULT_UNIT_DIR, help=f"default: {DEFAULT_UNIT_DIR}"
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help=f"where the units read configs (default: {DEFAULT_CONFIG_DIR})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change, change nothing"
    )


def _install(args: argparse.Namespace) -> int:
    options = InstallOptions(
        role=ROLES[args.role],
        unit_dir=args.unit_dir.absolute(),
        config_dir=args.config_dir.absolute(),
        user=args.user,
        config=args.config,
        gpu=args.gpu,
        force=args.force,
    )
    try:
        plan = plan_install(options)
        print(f"config ok: {plan.config} ({options.role.name})")
        _carry_out(plan, args.dry_run, run_before=args.create_user, run_after=args.enable)
    except ServiceError as exc:
        return _failed(exc)
    print(f"logs: journalctl -u {plan.unit} -f")
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    role = ROLES[args.role]
    try:
        instance = _instance(args) if role.instanced else None
        plan = plan_uninstall(
            role, instance, args.unit_dir.absolute(), args.config_dir.absolute(), args.purge
        )
        _carry_out(plan, args.dry_run, run_before=args.disable, run_after=args.disable)
    except ServiceError as exc:
        return _failed(exc)
    return 0


def _instance(args: argparse.Namespace) -> str:
    if args.instance:
        return str(args.instance)
    if args.config is None:
        raise ServiceError("camera: name the camera with --instance ID or --config PATH")
    camera_id = camera_id_of(args.config)
    if camera_id is None:
        raise ServiceError(f"{args.config}: no camera id in it: name the camera with --instance")
    return camera_id


def _carry_out(plan: Plan, dry_run: bool, run_before: bool, run_after: bool) -> None:
    for note in plan.notes:
        print(f"note: {note}")
    if dry_run:
        for action in plan.actions:
            verb = "would remove" if action.content is None else "would write"
            print(f"{verb} {action.path} ({action.what})")
            if action.content is not None and action.mode & 0o004:  # not configs: tokens
                print(action.content.rstrip("\n"))
        _next(plan.before + plan.after if plan.by_hand is None else plan.by_hand)
        return
    if plan.before and run_after and not run_before:
        needed = " && ".join(shlex.join(c.argv) for c in plan.before)
        raise ServiceError(f"run this first (or add --create-user): {needed}")
    if run_before:
        run_commands(plan.before, print)
    apply_actions(plan.actions, print)
    if run_after:
        run_commands(plan.after, print)
    elif plan.by_hand is not None:
        _next(plan.by_hand)
    else:
        _next(([] if run_before else plan.before) + plan.after)


def _next(commands: list[Command]) -> None:
    if not commands:
        return
    print("next, as root:")
    by_kind: dict[str, list[str]] = {}
    for command in commands:
        by_kind.setdefault(command.kind, []).append(shlex.join(command.argv))
    for lines in by_kind.values():
        print("  " + " && ".join(lines))


def _failed(exc: ServiceError) -> int:
    print(f"appliance: service: {exc}", file=sys.stderr)
    return EXIT_SERVICE_ERROR
