"""`appliance models pull` for real, with the train extra (Ultralytics and torch) installed.

No pretrained weights can be fetched here, so the models are untrained ones Ultralytics builds
from its own YAML: their outputs are arbitrary, but their graph, shapes and metadata are those
of a real export, so loading, decoding and NMS run exactly as on a trained model. The download
path runs for real too: Ultralytics' downloader fetches a checkpoint from an HTTP server on
loopback, and the no-network case is a proxy nobody listens on.
"""

from __future__ import annotations

import functools
import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml

from appliance.edge.config import EdgeConfig
from appliance.edge.detector import build_detector
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, metadata_labels
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from tests.footage import vtest_frames
from tests.test_models_cli import Run, run_models

SMALL = 160  # input side: keeps export and inference fast on a 2-core CI machine
COCO_CLASSES = 80
SNIPPET_HEADER = "To run it on the edge box, set in its config:\n"


@dataclass(frozen=True)
class Pulled:
    run: Run
    folder: Path

    @property
    def weights(self) -> Path:
        return self.folder / "yolov8n-untrained.pt"

    @property
    def onnx_path(self) -> Path:
        return self.folder / f"yolov8n-untrained-{SMALL}.onnx"


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Pulled:
    """`appliance models pull yolov8n.yaml --imgsz 160`, run once for the module."""
    cwd = tmp_path_factory.mktemp("pull")
    run = run_models(["pull", "yolov8n.yaml", "--imgsz", str(SMALL), "--output", "out"], cwd)
    assert run.returncode == 0, run.stderr
    return Pulled(run, cwd / "out")


def output_shape(path: Path) -> list[Any]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return list(session.get_outputs()[0].shape)


def snippet_config(stdout: str) -> EdgeConfig:
    """The edge config the pull told the user to use, completed with a camera."""
    detector = yaml.safe_load(stdout.split(SNIPPET_HEADER, 1)[1])
    return EdgeConfig.model_validate({**detector, "cameras": [{"id": "c", "token": "t" * 16}]})


def test_pull_builds_and_exports_an_untrained_model(untrained: Pulled) -> None:
    out = untrained.run.stdout
    assert "pulled       yolov8n.yaml: built untrained from yolov8n.yaml" in out
    assert untrained.weights.is_file() and untrained.onnx_path.is_file()
    assert f"images [1, 3, {SMALL}, {SMALL}] tensor(float): letterboxed to {SMALL} px" in out
    anchors = sum((SMALL // stride) ** 2 for stride in (8, 16, 32))
    assert f"output0 [1, {4 + COCO_CLASSES}, {anchors}] tensor(float)" in out
    assert output_shape(untrained.onnx_path) == [1, 4 + COCO_CLASSES, anchors]
    meta = {p.key: p.value for p in onnx.load(str(untrained.onnx_path)).metadata_props}
    assert meta["imgsz"] == f"[{SMALL}, {SMALL}]" and meta["task"] == "detect"


def test_the_printed_config_runs_the_export_on_real_footage(
    untrained: Pulled, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = snippet_config(untrained.run.stdout)
    assert config.detector.yolo_onnx.model_path == str(Path("out") / untrained.onnx_path.name)
    monkeypatch.chdir(untrained.folder.parent)  # where the pull ran: the path is relative to it
    detector = build_detector(config.detector, untrained.folder / "data")
    assert isinstance(detector, YoloOnnxDetector)
    assert detector.input_size == SMALL and len(detector.labels) == COCO_CLASSES
    [frame] = vtest_frames(200, 1)
    assert isinstance(detector.detect(frame), list)  # untrained: most likely nothing found


def test_decoding_and_nms_run_on_a_real_export(untrained: Pulled) -> None:
    # Untrained scores are tiny; with no confidence floor every candidate is decoded and goes
    # through class-aware NMS, so the whole path runs on the real graph's output.
    settings = YoloOnnxSettings(model_path=str(untrained.onnx_path), min_confidence=0.0)
    detector = YoloOnnxDetector(settings)
    [frame] = vtest_frames(300, 1)
    found = detector.detect(frame)
    height, width = frame.shape[:2]
    assert 0 < len(found) <= settings.max_detections
    session = ort.InferenceSession(str(untrained.onnx_path), providers=["CPUExecutionProvider"])
    names = metadata_labels(session)
    assert names is not None and len(names) == COCO_CLASSES
    for detection in found:
        assert detection.label in names
        box = detection.box
        assert 0 <= box.x1 < box.x2 <= width and 0 <= box.y1 < box.y2 <= height


def test_pull_a_local_checkpoint(untrained: Pulled, tmp_path: Path) -> None:
    run = run_models(["pull", str(untrained.weights), "--imgsz", "96", "--output", "m"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"copied from {untrained.weights}" in run.stdout
    assert digest(tmp_path / "m" / untrained.weights.name) == digest(untrained.weights)
    exported = tmp_path / "m" / "yolov8n-untrained-96.onnx"
    assert output_shape(exported) == [1, 4 + COCO_CLASSES, sum((96 // s) ** 2 for s in (8, 16, 32))]


class _Recorder(SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass


@pytest.fixture
def checkpoint_server(untrained: Pulled) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback serving the folder with the untrained checkpoint."""
    requests: list[str] = []
    handler = type("Handler", (_Recorder,), {"requests": requests})
    factory = functools.partial(handler, directory=str(untrained.folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), factory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_downloads_a_checkpoint(
    untrained: Pulled, checkpoint_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, requests = checkpoint_server
    url = f"{base}/{untrained.weights.name}"
    run = run_models(["pull", url, "--imgsz", "320", "--output", "dl"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"downloaded from {url}" in run.stdout
    assert requests == [f"/{untrained.weights.name}"]
    downloaded = tmp_path / "dl" / untrained.weights.name
    assert digest(downloaded) == digest(untrained.weights)
    exported = tmp_path / "dl" / "yolov8n-untrained-320.onnx"
    assert output_shape(exported) == [1, 4 + COCO_CLASSES, 2100]
    assert YoloOnnxDetector(YoloOnnxSettings(model_path=str(exported))).input_size == 320

    again = run_models(["pull", url, "--imgsz", "320", "--output", "dl"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(downloaded before)" in again.stdout and len(requests) == 1


def test_download_that_the_server_does_not_have(
    checkpoint_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, _ = checkpoint_server
    url = f"{base}/yolov8x.pt"
    run = run_models(["pull", url, "--retries", "0", "--output", "dl"], tmp_path)
    assert run.returncode == 1
    assert run.stderr_lines[-1] == (
        f"appliance: models: cannot download yolov8x.pt from {url}: 127.0.0.1 answered HTTP 404"
    )
    assert not any((tmp_path / "dl").iterdir())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_pull_without_network_names_the_model_and_url(tmp_path: Path) -> None:
    # All HTTP(S) goes through a proxy nobody listens on: no network, whatever this machine has.
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = {v: proxy for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    env.update(NO_PROXY="", no_proxy="")
    run = run_models(["pull", "yolov8n.pt", "--retries", "0", "--output", "m"], tmp_path, env)
    assert run.returncode == 1
    [line] = [line for line in run.stderr_lines if line.startswith("appliance:")]
    url = re.escape("https://github.com/ultralytics/assets/releases/download/")
    expected = rf"appliance: models: cannot download yolov8n\.pt from {url}v[\d.]+/yolov8n\.pt"
    assert re.fullmatch(f"{expected}: the HTTP proxy set for github\\.com is unreachable", line)
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "m" / "yolov8n.pt").exists()


def test_quantised_export_runs_in_the_detector(untrained: Pulled, tmp_path: Path) -> None:
    target = tmp_path / "yolov8n-int8.onnx"
    args = ["quantize", str(untrained.onnx_path), str(target), "--calibration", "vtest"]
    run = run_models([*args, "--frames", "8"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert target.stat().st_size < 0.35 * untrained.onnx_path.stat().st_size
    ops = {node.op_type for node in onnx.load(str(target)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    detector = YoloOnnxDetector(YoloOnnxSettings(model_path=str(target), min_confidence=0.0))
    [frame] = vtest_frames(300, 1)
    assert detector.detect(frame)
    assert output_shape(target) == output_shape(untrained.onnx_path)
    x = np.random.default_rng(0).random((1, 3, SMALL, SMALL), dtype=np.float32)
    outputs = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
        for p in (untrained.onnx_path, target)
    ]
    assert np.abs(outputs[0][:, :4] - outputs[1][:, :4]).max() < 1.0  # box pixels
