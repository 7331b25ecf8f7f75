"""A camera node installs and runs without the edge's packages (`pip install .[camera]`).

The runs hide the edge-only packages (and onnxruntime: a node on motion blobs needs no extra at
all) from the camera process, as a camera-only install lacks them: a node sends real vtest
frames to a real edge box, and its systemd unit installs. The package metadata is checked to
keep those packages out of the camera's install.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.edge_process import PROJECT_ROOT, running_edge
from tests.footage import vtest_path

EDGE_ONLY = ("fastapi", "uvicorn", "starlette", "sqlalchemy", "alembic", "aiortc", "av", "paho",
             "streamlit", "onnx", "psycopg")  # fmt: skip
# A node on motion blobs (the default tiny detector) needs not even the camera extra.
CORE_ONLY = (*EDGE_ONLY, "onnxruntime")
CAMERA, TOKEN = "pi", "pi-token-123456"

# Runs `appliance camera` with the edge-only packages unimportable, as on a camera-only install.
RUN_WITHOUT = """
import importlib.abc, sys
HIDDEN = set(sys.argv[1].split(","))
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (camera-only install)")
        return None
sys.meta_path.insert(0, Hide())
from appliance.cli import main
sys.exit(main(sys.argv[2:]))
"""


def installed_with(extra: str | None) -> set[str]:
    """The packages `pip install .[extra]` installs directly (the metadata pip reads)."""
    names = set()
    for requirement in importlib.metadata.requires("smartcam-appliance") or []:
        name, _, marker = requirement.partition(";")
        if not marker or (extra is not None and f'extra == "{extra}"' in marker):
            names.add(name.split("==")[0].split("[")[0].strip().lower())
    return names


def test_the_camera_extra_leaves_the_edge_packages_out() -> None:
    camera = installed_with("camera")
    assert camera.isdisjoint({"fastapi", "uvicorn", "sqlalchemy", "alembic", "aiortc",
                              "paho-mqtt", "streamlit", "onnx", "psycopg"}), camera  # fmt: skip
    edge = installed_with("edge")
    assert {"fastapi", "sqlalchemy", "onnxruntime", "aiortc"} <= edge


def test_a_camera_node_runs_without_the_edge_packages(tmp_path: Path) -> None:
    with running_edge(tmp_path / "edge", {CAMERA: TOKEN}) as edge:
        config = {"id": CAMERA, "source": str(vtest_path()), "edge_url": edge.base_url,
                  "token": TOKEN}  # fmt: skip
        path = tmp_path / "camera.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", RUN_WITHOUT, ",".join(CORE_ONLY),
             "--log-level", "WARNING", "camera", "--config", str(path), "--frames", "40"],
            capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["frames_read"] == 40
    # People walk all through vtest: the events query takes about a third of the frames.
    assert stats["frames_sent"] >= 8 and stats["upload_failures"] == 0, stats
    assert 0 < stats["peak_rss_mb"] < 400  # measured and reported by the node itself


def test_a_camera_only_install_still_reports_errors_in_one_line(tmp_path: Path) -> None:
    config = {"id": CAMERA, "source": str(tmp_path / "missing.mp4"),
              "edge_url": "http://127.0.0.1:9", "token": TOKEN}  # fmt: skip
    path = tmp_path / "camera.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT, ",".join(EDGE_ONLY), "camera", "--config", str(path),
         "--frames", "5"],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "missing.mp4" in done.stderr


def test_the_camera_service_installs_without_the_edge_packages(tmp_path: Path) -> None:
    config = {"id": CAMERA, "source": "rtsp://192.0.2.10/stream", "edge_url": "http://edge:8080",
              "token": TOKEN}  # fmt: skip
    path = tmp_path / "camera.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT, ",".join(CORE_ONLY), "service", "install",
         "--role", "camera", "--config", str(path), "--unit-dir", str(tmp_path / "units"),
         "--config-dir", str(tmp_path / "etc"), "--dry-run"],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"appliance-camera@{CAMERA}.service" in done.stdout
