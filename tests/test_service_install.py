"""`appliance service install|uninstall` as a user runs it: the config is validated first (an
invalid one writes nothing), the unit and the config land where systemd and the unit look,
the next commands are printed, and uninstall takes away what install wrote."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.edge_process import PROJECT_ROOT

APPLIANCE = [sys.executable, "-m", "appliance.cli", "service"]
EDGE_YAML = PROJECT_ROOT / "configs/edge.yaml"
CAMERA_YAML = PROJECT_ROOT / "configs/camera.yaml"


def service(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    dirs = ["--unit-dir", str(tmp_path / "units"), "--config-dir", str(tmp_path / "etc")]
    return subprocess.run(
        [*APPLIANCE, *args, *dirs],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def camera_yaml(tmp_path: Path, camera_id: str, **extra: object) -> Path:
    config = yaml.safe_load(CAMERA_YAML.read_text(encoding="utf-8"))
    path = tmp_path / f"{camera_id}.yaml"
    path.write_text(yaml.safe_dump({**config, "id": camera_id, **extra}), encoding="utf-8")
    return path


def test_install_writes_the_unit_and_the_config_and_says_what_next(tmp_path: Path) -> None:
    result = service(tmp_path, "install", "--role", "edge", "--config", str(EDGE_YAML))
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path) == ["etc/edge.yaml", "units/appliance-edge.service"]
    unit = (tmp_path / "units/appliance-edge.service").read_text(encoding="utf-8")
    appliance = Path(sys.executable).parent / "appliance"
    assert f"ExecStart={appliance} edge --config {tmp_path}/etc/edge.yaml\n" in unit
    assert f"EnvironmentFile=-{tmp_path}/etc/edge.env\n" in unit
    # The config (it holds camera tokens) is a copy only root and the service's group read.
    installed = tmp_path / "etc/edge.yaml"
    assert installed.read_bytes() == EDGE_YAML.read_bytes()
    assert stat.S_IMODE(installed.stat().st_mode) == 0o640
    assert "systemctl daemon-reload && systemctl enable --now appliance-edge.service" in (
        result.stdout
    )
    assert "journalctl -u appliance-edge.service" in result.stdout
    assert "data/edge is relative: the service writes /var/lib/appliance/data/edge" in (
        result.stdout
    )


def test_the_user_to_create_is_printed(tmp_path: Path) -> None:
    result = service(
        tmp_path, "install", "--role", "edge", "--config", str(EDGE_YAML), "--user", "camsvc"
    )
    assert result.returncode == 0, result.stderr
    assert "useradd --system --user-group --home-dir /var/lib/appliance" in result.stdout
    assert f"chgrp camsvc {tmp_path}/etc/edge.yaml" in result.stdout
    unit = (tmp_path / "units/appliance-edge.service").read_text(encoding="utf-8")
    assert "User=camsvc\nGroup=camsvc\n" in unit


def test_an_invalid_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "edge.yaml"
    bad.write_text(EDGE_YAML.read_text().replace("min_hits:", "min_hitz:"), encoding="utf-8")
    result = service(tmp_path, "install", "--role", "edge", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"appliance: config error: {bad}: tracker.min_hitz: unknown setting"
    )
    assert not (tmp_path / "units").exists() and not (tmp_path / "etc").exists()


def test_a_missing_config_exits_2(tmp_path: Path) -> None:
    result = service(tmp_path, "install", "--role", "edge")  # default: <config-dir>/edge.yaml
    assert result.returncode == 2
    assert f"{tmp_path}/etc/edge.yaml: config file not found" in result.stderr
    assert not (tmp_path / "units").exists()


def test_secrets_must_be_in_the_units_environment_file(tmp_path: Path) -> None:
    config = camera_yaml(
        tmp_path, "gate", source="rtsp://admin:${GATE_PASSWORD}@192.0.2.10:554/stream1"
    )
    # Set in this shell, but systemd would not pass it: the service reads only its env file.
    env_shell = {**os.environ, "GATE_PASSWORD": "s3cret"}
    args = ["install", "--role", "camera", "--config", str(config)]
    result = subprocess.run(
        [*APPLIANCE, *args, "--unit-dir", f"{tmp_path}/units", "--config-dir", f"{tmp_path}/etc"],
        capture_output=True,
        text=True,
        env=env_shell,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"${{GATE_PASSWORD}} not set in {tmp_path}/etc/cameras/gate.env" in result.stderr
    assert not (tmp_path / "units").exists()
    env_file = tmp_path / "etc/cameras/gate.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("# RTSP login of the gate camera\nGATE_PASSWORD='s3cret'\n")
    result = service(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "appliance-camera@gate.service" in result.stdout


def test_each_camera_is_an_instance_of_one_template(tmp_path: Path) -> None:
    for camera_id in ("front-door", "yard"):
        result = service(
            tmp_path,
            "install",
            "--role",
            "camera",
            "--config",
            str(camera_yaml(tmp_path, camera_id)),
        )
        assert result.returncode == 0, result.stderr
        assert f"systemctl enable --now appliance-camera@{camera_id}.service" in result.stdout
    assert files_under(tmp_path / "etc") == ["cameras/front-door.yaml", "cameras/yard.yaml"]
    assert files_under(tmp_path / "units") == ["appliance-camera@.service"]
    unit = (tmp_path / "units/appliance-camera@.service").read_text(encoding="utf-8")
    assert f"camera --config {tmp_path}/etc/cameras/%i.yaml\n" in unit


def test_a_changed_config_is_replaced_only_with_force(tmp_path: Path) -> None:
    args = ["install", "--role", "edge", "--config", str(EDGE_YAML)]
    assert service(tmp_path, *args).returncode == 0
    installed = tmp_path / "etc/edge.yaml"
    installed.write_text(EDGE_YAML.read_text() + "# edited in place\n", encoding="utf-8")
    refused = service(tmp_path, *args)
    assert refused.returncode == 1
    assert "exists and differs" in refused.stderr and "--force" in refused.stderr
    assert installed.read_text().endswith("# edited in place\n")
    assert service(tmp_path, *args, "--force").returncode == 0
    assert installed.read_bytes() == EDGE_YAML.read_bytes()


def test_dry_run_prints_the_unit_and_writes_nothing(tmp_path: Path) -> None:
    result = service(tmp_path, "install", "--role", "edge", "--config", str(EDGE_YAML), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"would write {tmp_path}/units/appliance-edge.service" in result.stdout
    assert "Type=notify" in result.stdout and "WatchdogSec=30s" in result.stdout
    assert f"would write {tmp_path}/etc/edge.yaml" in result.stdout
    assert "change-me-front-door-token" not in result.stdout  # the config's secrets stay out
    assert not (tmp_path / "units").exists() and not (tmp_path / "etc").exists()


def test_ui_config_is_validated_by_the_ui_model(tmp_path: Path) -> None:
    config = tmp_path / "ui.yaml"
    config.write_text("- just\n- a list\n", encoding="utf-8")
    result = service(tmp_path, "install", "--role", "ui", "--config", str(config))
    assert result.returncode == 2
    assert "expected a mapping of settings at the top level" in result.stderr
    config.write_text("edge_url: 127.0.0.1:8080\n", encoding="utf-8")
    result = service(tmp_path, "install", "--role", "ui", "--config", str(config))
    assert result.returncode == 2
    assert "edge_url: must be an http:// or https:// URL" in result.stderr
    config.write_text("edge_url: http://127.0.0.1:8080\n", encoding="utf-8")
    result = service(tmp_path, "install", "--role", "ui", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "reading the edge API at http://127.0.0.1:8080" in result.stdout


def test_gpu_is_for_the_edge_only(tmp_path: Path) -> None:
    result = service(tmp_path, "install", "--role", "camera", "--config", str(CAMERA_YAML), "--gpu")
    assert result.returncode == 1
    assert "--gpu applies to the edge role only" in result.stderr


def enable(units: Path, unit: str, template: str) -> Path:
    """What `systemctl enable` leaves behind: a link in multi-user.target.wants."""
    link = units / "multi-user.target.wants" / unit
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(units / template)
    return link


def test_uninstall_removes_what_install_wrote(tmp_path: Path) -> None:
    args = ["install", "--role", "edge", "--config", str(EDGE_YAML), "--gpu"]
    assert service(tmp_path, *args).returncode == 0
    units = tmp_path / "units"
    assert (units / "appliance-edge.service.d/gpu.conf").is_file()
    link = enable(units, "appliance-edge.service", "appliance-edge.service")
    result = service(tmp_path, "uninstall", "--role", "edge")
    assert result.returncode == 0, result.stderr
    assert not link.is_symlink()
    assert files_under(units) == []
    assert not (units / "appliance-edge.service.d").exists()
    assert "systemctl stop appliance-edge.service && systemctl daemon-reload" in result.stdout
    # The config stays (like apt remove); --purge removes it too.
    assert (tmp_path / "etc/edge.yaml").is_file()
    purged = service(tmp_path, "uninstall", "--role", "edge", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert files_under(tmp_path) == []


def test_installing_without_gpu_removes_an_earlier_gpu_drop_in(tmp_path: Path) -> None:
    args = ["install", "--role", "edge", "--config", str(EDGE_YAML)]
    assert service(tmp_path, *args, "--gpu").returncode == 0
    assert service(tmp_path, *args).returncode == 0
    assert files_under(tmp_path / "units") == ["appliance-edge.service"]


def test_uninstalling_one_camera_keeps_the_template_for_the_others(tmp_path: Path) -> None:
    units = tmp_path / "units"
    links = {}
    for camera_id in ("front-door", "yard"):
        config = camera_yaml(tmp_path, camera_id)
        assert (
            service(tmp_path, "install", "--role", "camera", "--config", str(config)).returncode
            == 0
        )
        unit = f"appliance-camera@{camera_id}.service"
        links[camera_id] = enable(units, unit, "appliance-camera@.service")
    first = service(tmp_path, "uninstall", "--role", "camera", "--instance", "front-door")
    assert first.returncode == 0, first.stderr
    assert not links["front-door"].is_symlink() and links["yard"].is_symlink()
    assert (units / "appliance-camera@.service").is_file()
    assert "still enabled for appliance-camera@yard.service" in first.stdout
    # The last camera, named by its config this time.
    yard = str(tmp_path / "yard.yaml")
    last = service(tmp_path, "uninstall", "--role", "camera", "--config", yard, "--purge")
    assert last.returncode == 0, last.stderr
    assert files_under(units) == []
    assert files_under(tmp_path / "etc") == ["cameras/front-door.yaml"]


@pytest.mark.parametrize("role", ["edge", "ui"])
def test_uninstall_of_nothing_says_so(tmp_path: Path, role: str) -> None:
    result = service(tmp_path, "uninstall", "--role", role)
    assert result.returncode == 0, result.stderr
    assert f"nothing of appliance-{role}.service found" in result.stdout


def test_enable_needs_the_user_first_and_writes_nothing_without_it(tmp_path: Path) -> None:
    args = ["install", "--role", "edge", "--config", str(EDGE_YAML), "--user", "nosuchsvc"]
    result = service(tmp_path, *args, "--enable")
    assert result.returncode == 1
    assert "run this first (or add --create-user): useradd --system" in result.stderr
    assert not (tmp_path / "units").exists()


def fake_systemctl(tmp_path: Path, exit_status: int) -> dict[str, str]:
    """A `systemctl` first on PATH that logs its arguments (no real systemd is touched)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/systemctl.log\n'
        f'[ {exit_status} = 0 ] || echo "Failed to connect to bus: Host is down" >&2\n'
        f"exit {exit_status}\n"
    )
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize("role", ["edge", "camera"])
def test_enable_runs_the_systemctl_commands(tmp_path: Path, role: str) -> None:
    config = EDGE_YAML if role == "edge" else CAMERA_YAML
    unit = "appliance-edge.service" if role == "edge" else "appliance-camera@front-door.service"
    args = ["install", "--role", role, "--config", str(config), "--user", "root", "--enable"]
    result = service(tmp_path, *args, env=fake_systemctl(tmp_path, 0))
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "systemctl.log").read_text().splitlines()
    assert calls == ["daemon-reload", f"enable --now {unit}"]
    assert "next, as root" not in result.stdout


def test_a_failing_systemctl_is_named(tmp_path: Path) -> None:
    args = ["install", "--role", "edge", "--config", str(EDGE_YAML), "--user", "root", "--enable"]
    result = service(tmp_path, *args, env=fake_systemctl(tmp_path, 1))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "appliance: service: systemctl daemon-reload failed: Failed to connect to bus: Host is down"
    )
    assert (tmp_path / "units/appliance-edge.service").is_file()


def test_uninstall_disable_runs_systemctl_before_removing(tmp_path: Path) -> None:
    assert (
        service(tmp_path, "install", "--role", "edge", "--config", str(EDGE_YAML)).returncode == 0
    )
    result = service(
        tmp_path, "uninstall", "--role", "edge", "--disable", env=fake_systemctl(tmp_path, 0)
    )
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "systemctl.log").read_text().splitlines()
    assert calls == ["disable --now appliance-edge.service", "daemon-reload"]
    assert files_under(tmp_path / "units") == []


def test_a_camera_needs_its_config_named(tmp_path: Path) -> None:
    result = service(tmp_path, "install", "--role", "camera")
    assert result.returncode == 1
    assert "--config names the camera's YAML" in result.stderr
