"""The units set MemoryDenyWriteExecute=yes: the roles must run with W^X memory. The edge box
with an onnxruntime YOLO model and a camera node (OpenCV decoding, JPEG) run here under
PR_SET_MDWE, the kernel's W^X switch that systemd uses for that setting where it exists
(Linux 6.3+; older systemd uses a seccomp filter with the same rule): no mapping may be
writable and executable, and no mapping may become executable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import tests.edge_process
from tests.edge_process import PROJECT_ROOT, running_edge
from tests.footage import vtest_path
from tests.onnx_models import candidates, constant_model

TOKEN = "camera-token-123"
# Sets W^X for itself and everything it runs, then becomes the command in argv.
WX_LAUNCHER = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1\n"
    "if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:\n"
    "    raise SystemExit('PR_SET_MDWE: ' + os.strerror(ctypes.get_errno()))\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)
WX = [sys.executable, "-c", WX_LAUNCHER]
APPLIANCE = [sys.executable, "-m", "appliance.cli"]
PROBE = (
    "import mmap\n"
    "try:\n"
    "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
    "except PermissionError:\n"
    "    print('refused')\n"
    "else:\n"
    "    print('allowed')\n"
)


def run_wx(*command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WX, *command], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout
    )


@pytest.fixture(scope="module", autouse=True)
def kernel_wx() -> None:
    probe = run_wx(sys.executable, "-c", PROBE)
    if "PR_SET_MDWE" in probe.stderr:
        pytest.skip(f"this kernel has no PR_SET_MDWE (Linux 6.3+): {probe.stderr.strip()}")
    assert probe.returncode == 0, probe.stderr
    # Without the launcher the same mapping is allowed: the launcher is what refuses it.
    plain = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert (probe.stdout.strip(), plain.stdout.strip()) == ("refused", "allowed")


def test_edge_with_onnxruntime_and_a_camera_node_run_with_wx_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One person in every frame, whatever the image: the model's answer is known.
    model = constant_model(
        tmp_path / "yolo.onnx",
        candidates([(200.0, 330.0, 200.0, 300.0, [0.9])]),
        names={0: "person"},
    )
    monkeypatch.setattr(tests.edge_process, "appliance_command", lambda: [*WX, *APPLIANCE])
    extra = {
        "detector": {"kind": "yolo-onnx", "yolo_onnx": {"model_path": str(model)}},
        "tracker": {"min_hits": 1, "confirm_s": 0.0},
    }
    with running_edge(tmp_path / "edge", {"c": TOKEN}, extra=extra) as edge:
        camera_config = tmp_path / "camera.yaml"
        camera_config.write_text(
            json.dumps(
                {"id": "c", "source": str(vtest_path()), "edge_url": edge.base_url, "token": TOKEN}
            ),
            encoding="utf-8",
        )
        camera = run_wx(*APPLIANCE, "camera", "--config", str(camera_config), "--frames", "40")
        assert camera.returncode == 0, camera.stderr
        stats = json.loads(camera.stdout)
        assert stats["frames_sent"] > 0 and stats["upload_failures"] == 0
        assert stats["detections_seen"] >= stats["frames_sent"]  # the model's person, each time
        totals = httpx.get(edge.base_url + "/api/v1/stats", timeout=5).json()["store"]
        assert edge.stop() == 0, edge.stderr
    assert totals["events"] >= 1, totals
