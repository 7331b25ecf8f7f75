"""The `appliance` command as a user runs it: bad config files and sources give one clear line.

Every config case runs the real console script in a subprocess. The runs are independent, so a
module fixture starts them all at once (a few at a time) and each test checks its own result.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

APPLIANCE = Path(sys.executable).with_name("appliance")
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
TOKEN = "s3cr3t-token-value"
ENV_TOKEN = "env-s3cr3t-from-environment"
TOKEN_VAR = "APPLIANCE_TEST_CAMERA_TOKEN"
UNSET_VAR = "APPLIANCE_TEST_SURELY_UNSET_VAR"
RUN_TIMEOUT_S = 30.0
CONFIG_ERROR = 2
RUNTIME_ERROR = 1
TIMED_OUT = -1000


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_appliance(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT_S
) -> Run:
    environment = {k: v for k, v in os.environ.items() if k not in (UNSET_VAR, TOKEN_VAR)}
    environment.update(env or {})
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(APPLIANCE), *args],
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # killed; reported as a failed run, not an error
        return Run(TIMED_OUT, _text(exc.stdout), _text(exc.stderr), time.monotonic() - started)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output or ""


# --- config cases ---------------------------------------------------------------------------

# Valid configs that would not get far if a bad case were accepted by mistake: the edge listens
# on a closed port only if it starts, the camera's edge is unreachable, the demo reads 1 frame.


def edge_base(work: Path) -> dict[str, Any]:
    return {
        "listen": {"host": "127.0.0.1", "port": 18080},
        "data_dir": str(work / "data"),
        "cameras": [{"id": "door", "name": "Front door", "token": TOKEN}],
    }


def camera_base(work: Path) -> dict[str, Any]:
    return {"id": "door", "source": VTEST, "edge_url": "http://127.0.0.1:1", "token": TOKEN}


def demo_base(work: Path) -> dict[str, Any]:
    return {"video": "vtest", "frames": 1, "data_dir": str(work / "demo")}


BASES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "edge": edge_base,
    "camera": camera_base,
    "demo": demo_base,
}


def merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`base` with `change` applied recursively; a None value removes the key."""
    result = dict(base)
    for key, value in change.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


@dataclass(frozen=True)
class ConfigCase:
    role: str
    name: str
    expect: tuple[str, ...]
    """Fragments the one error line must contain (besides the config file's path)."""
    change: dict[str, Any] | None = None
    """Applied to the role's valid base config (None: use `text`)."""
    text: str | bytes | None = None
    """Raw file content instead of a changed base config."""
    kind: str = "file"
    """"file", "missing" (no file at all) or "directory" (the path is a directory)."""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.role}-{self.name}"

    def write(self, work: Path) -> Path:
        path = work / f"{self.role}.yaml"
        if self.kind == "missing":
            return path
        if self.kind == "directory":
            path.mkdir()
            return path
        if self.change is not None:
            config = merged(BASES[self.role](work), self.change)
            path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        elif isinstance(self.text, bytes):
            path.write_bytes(self.text)
        else:
            path.write_text(self.text or "", encoding="utf-8")
        return path


def _file_cases(role: str) -> list[ConfigCase]:
    """Problems with the file itself, checked for every role."""
    return [
        ConfigCase(role, "missing-file", ("not found",), kind="missing"),
        ConfigCase(
            role, "invalid-yaml", ("invalid YAML", "line 2"), text=f"token: {TOKEN}\nx: y: z\n"
        ),
        ConfigCase(role, "top-level-list", ("mapping",), text=f"- token: {TOKEN}\n- 2\n"),
    ]


CAMERA0 = {"id": "door", "token": TOKEN}
CONFIG_CASES = [
    *_file_cases("edge"),
    *_file_cases("camera"),
    *_file_cases("demo"),
    # the file (same loader for every role: checked once)
    ConfigCase("edge", "directory", ("cannot read",), kind="directory"),
    ConfigCase("edge", "not-utf8", ("cannot read",), text=b"id: \xff\xfe door\n"),
    ConfigCase("edge", "empty-file", ("cameras", "required"), text=""),
    # edge
    ConfigCase("edge", "unknown-key", ("tracker.min_hitz", "unknown setting"),
               change={"tracker": {"min_hitz": 3}}),
    ConfigCase("edge", "port-too-big", ("listen.port", "65535"),
               change={"listen": {"port": 70000}}),
    ConfigCase("edge", "network-without-api-token", ("listen.host 0.0.0.0", "api_token"),
               change={"listen": {"host": "0.0.0.0", "port": 18080}}),
    ConfigCase("edge", "camera-without-token", ("cameras.0.token", "required"),
               change={"cameras": [{"id": "door"}]}),
    ConfigCase("edge", "duplicate-camera-ids", ("cameras", "unique", "door"),
               change={"cameras": [CAMERA0, {"id": "door", "token": TOKEN + "2"}]}),
    ConfigCase("edge", "unset-env-var", ("cameras.0.token", UNSET_VAR, "not set"),
               change={"cameras": [{"id": "door", "token": "${" + UNSET_VAR + "}"}]}),
    ConfigCase("edge", "token-from-env-and-bad-port", ("listen.port",),
               change={"cameras": [{"id": "door", "token": "${" + TOKEN_VAR + "}"}],
                       "listen": {"port": 0}},
               env={TOKEN_VAR: ENV_TOKEN}),
    ConfigCase("edge", "many-problems",
               ("tracker.min_hits", "detector.kind", "detector.hog.scale", "snapshots.quality",
                "max_frame_bytes", "cameras.0.token", "at least 8",
                "cameras.1.id", "cameras.2.token: Input should be a valid string"),
               change={"tracker": {"min_hits": 0},
                       "detector": {"kind": "yolo", "hog": {"scale": 1}},
                       "snapshots": {"quality": 5}, "max_frame_bytes": 10,
                       "cameras": [{"id": "door", "token": "short"},
                                   {"id": "front door!", "token": TOKEN},
                                   {"id": "yard", "token": [TOKEN]}]}),
    # camera
    ConfigCase("camera", "unknown-key", ("filter.thresh", "unknown setting"),
               change={"filter": {"thresh": 0.1}}),
    ConfigCase("camera", "threshold-too-big", ("filter.threshold", "less than or equal to 1"),
               change={"filter": {"threshold": 2}}),
    ConfigCase("camera", "even-blur-kernel", ("filter.blur_kernel", "odd"),
               change={"filter": {"blur_kernel": 4}}),
    ConfigCase("camera", "without-token", ("token", "required"), change={"token": None}),
    ConfigCase("camera", "unset-env-var", ("token", UNSET_VAR, "not set"),
               change={"token": "${" + UNSET_VAR + "}"}),
    ConfigCase("camera", "token-from-env-and-bad-threshold", ("filter.threshold",),
               change={"token": "${" + TOKEN_VAR + "}", "filter": {"threshold": -1}},
               env={TOKEN_VAR: ENV_TOKEN}),
    ConfigCase("camera", "many-problems",
               ("source: Field required", "edge_url", "jpeg_quality", "request_timeout_s",
                "realtime", "id"),
               change={"source": None, "edge_url": "ftp://127.0.0.1", "jpeg_quality": 5,
                       "request_timeout_s": 0, "realtime": "sometimes", "id": "a b"}),
    # demo
    ConfigCase("demo", "unknown-key", ("tracker.min_hitz", "unknown setting"),
               change={"tracker": {"min_hitz": 3}}),
    ConfigCase("demo", "threshold-too-big", ("filter.threshold", "less than or equal to 1"),
               change={"filter": {"threshold": 2}}),
    ConfigCase("demo", "even-blur-kernel", ("filter.blur_kernel", "odd"),
               change={"filter": {"blur_kernel": 4}}),
    ConfigCase("demo", "unset-env-var", ("video", UNSET_VAR, "not set"),
               change={"video": "${" + UNSET_VAR + "}"}),
    ConfigCase("demo", "many-problems",
               ("cameras: unknown setting", "frames", "camera_id", "jpeg_quality"),
               change={"cameras": [CAMERA0], "frames": 0, "camera_id": "a b", "jpeg_quality": 5}),
]  # fmt: skip


@pytest.fixture(scope="module")
def config_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Run]]:
    """Case id -> (config path given, result), all cases run concurrently."""

    # Directories first, in this thread: tmp_path_factory is not thread-safe.
    works = [tmp_path_factory.mktemp(case.id) for case in CONFIG_CASES]

    def one(case: ConfigCase, work: Path) -> tuple[Path, Run]:
        path = case.write(work)
        return path, run_appliance([case.role, "--config", str(path)], work, case.env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(one, CONFIG_CASES, works)
        return dict(zip((c.id for c in CONFIG_CASES), runs, strict=True))


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CONFIG_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.id)
def test_bad_config_gives_one_clear_line(
    config_runs: dict[str, tuple[Path, Run]], case: ConfigCase
) -> None:
    path, run = config_runs[case.id]

    assert run.returncode == CONFIG_ERROR, run.output
    assert "Traceback" not in run.output
    assert run.stdout == ""
    assert len(run.stderr_lines) == 1, run.stderr
    (line,) = run.stderr_lines
    assert line.startswith("appliance: config error: "), line
    assert str(path) in line
    for fragment in case.expect:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    for secret in (TOKEN, ENV_TOKEN):
        assert secret not in run.output


# --- commands -------------------------------------------------------------------------------


def test_help_lists_the_roles(tmp_path: Path) -> None:
    run = run_appliance(["--help"], tmp_path)
    assert run.returncode == 0, run.output
    for role in ("edge", "camera", "demo"):
        assert role in run.stdout
    assert run.stderr == ""


def test_missing_role_is_a_usage_error(tmp_path: Path) -> None:
    run = run_appliance([], tmp_path)
    assert run.returncode == 2
    assert "usage" in run.stderr.lower()
    assert "Traceback" not in run.output


def write_camera_config(work: Path, source: str, **extra: Any) -> Path:
    path = work / "camera.yaml"
    config = {**camera_base(work), "source": source, **extra}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_camera_with_missing_video_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-clip.avi"
    config = write_camera_config(tmp_path, str(missing))

    run = run_appliance(["camera", "--config", str(config)], tmp_path)

    assert run.returncode == RUNTIME_ERROR, run.output
    assert "Traceback" not in run.output
    assert len(run.stderr_lines) == 1, run.stderr
    assert str(missing) in run.stderr_lines[0]
    assert "not found" in run.stderr_lines[0]
    assert TOKEN not in run.output


def test_camera_with_unreachable_rtsp_stream_hides_the_password(tmp_path: Path) -> None:
    # Live sources are retried until give_up_after_s; then the node exits non-zero (systemd
    # restarts it), naming the source without its credentials.
    config = write_camera_config(
        tmp_path, "rtsp://admin:hunter2@127.0.0.1:1/stream", reconnect={"give_up_after_s": 3}
    )

    run = run_appliance(
        ["--log-level", "DEBUG", "camera", "--config", str(config)], tmp_path, timeout=25
    )

    assert run.returncode != 0, run.output
    assert run.seconds < 20
    assert "Traceback" not in run.output
    assert "hunter2" not in run.output
    assert TOKEN not in run.output
    assert "rtsp://***@127.0.0.1:1/stream" in run.stderr_lines[-1]


def test_demo_with_missing_video(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-clip.mp4"

    run = run_appliance(["demo", "--video", str(missing)], tmp_path)

    assert run.returncode == RUNTIME_ERROR, run.output
    assert "Traceback" not in run.output
    assert len(run.stderr_lines) == 1, run.stderr
    assert str(missing) in run.stderr_lines[0]
    assert not (tmp_path / "data").exists()  # nothing created for a run that never started
