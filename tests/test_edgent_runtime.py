"""Edgent end to end: a real `appliance edge` process runs the tails of a real YOLOv8n export
whose heads the camera-side code runs on real vtest frames.

Split in the neck and sent as float32, the edge stores the detections the unsplit model finds
in-process (`YoloOnnxDetector`); as float16 within a few pixels; at the device-only end the
camera runs and decodes the whole model and sends only the detections (a few hundred bytes),
which the edge stores unchanged; the edge-only end (the JPEG goes, the edge's own detector
runs) works too; and a camera node configured with `edgent` sends its frames this way.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import cv2
import httpx
import numpy as np
import numpy.typing as npt
import onnx
import pytest

from cameras.collaborative import CollaborativeUploader, collaborative_uploader
from cameras.config import CameraConfig
from cameras.device_only import DeviceOnly
from cameras.edge_client import EdgeUplink
from cameras.edgent_config import CameraEdgentConfig
from cameras.edgent_plan import OnlinePlans, PinnedPlan
from cameras.runtime import run_camera_node
from pipelines.detectors.onnx_yolo import YoloOnnxDetector
from pipelines.detectors.yolo_decode import YoloDecoding
from pipelines.detectors.yolo_settings import YoloOnnxSettings
from pipelines.edgent.codec import Encoding, TensorCodec
from pipelines.edgent.exits import load_exit
from pipelines.types import Detection
from tests.edge_process import EdgeProcess, camera_stats, running_edge, stats
from tests.edgent_fixtures import FIXTURES
from tests.edgent_runtime import (
    CAMERA,
    CONFIDENCE,
    EXIT,
    TOKEN,
    camera_edgent,
    crossing_elements,
    edge_extra,
    outgoing,
    slow_camera_profile,
    store_counts,
    stored_body_bytes,
    stored_detections,
    uploader,
)
from tests.footage import vtest_frames, vtest_path

NODE, NODE_TOKEN = "node", "edgent-token-2"
PLANNED, PLANNED_TOKEN = "planned", "edgent-token-3"
PICTURES, PICTURES_TOKEN = "pictures", "edgent-token-4"
FIRST_FRAME, FRAMES = 100, 3
HEADER_BYTES = 4096
_seqs = itertools.count(1)  # capture times only move forward across the module


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, edgent_model: Path) -> Iterator[EdgeProcess]:
    tokens = {CAMERA: TOKEN, NODE: NODE_TOKEN, PLANNED: PLANNED_TOKEN, PICTURES: PICTURES_TOKEN}
    work = tmp_path_factory.mktemp("edgent-edge")
    with running_edge(work, tokens, extra=edge_extra(edgent_model), startup_timeout_s=60) as edge:
        yield edge


@pytest.fixture(scope="module")
def frames() -> list[npt.NDArray[np.uint8]]:
    return vtest_frames(FIRST_FRAME, FRAMES)


@pytest.fixture(scope="module")
def detector(edgent_model: Path) -> YoloOnnxDetector:
    return YoloOnnxDetector(YoloOnnxSettings(str(edgent_model), min_confidence=CONFIDENCE))


@pytest.fixture(scope="module")
def reference(
    detector: YoloOnnxDetector, frames: list[npt.NDArray[np.uint8]]
) -> list[list[Detection]]:
    found = [detector.detect(f) for f in frames]
    assert all(len(d) >= 3 for d in found), [len(d) for d in found]
    return found


def jpeg(image: npt.NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(encoded.tobytes())


def send(
    edge: EdgeProcess,
    model: Path,
    cut: int,
    encoding: Encoding,
    images: list[npt.NDArray[np.uint8]],
) -> list[int]:
    """Upload each frame through the camera-side collaborative code; the sequence numbers."""
    camera = uploader(edge.base_url, model, cut, encoding)
    seqs = []
    try:
        for image in images:
            seq = next(_seqs)
            sent = camera.upload(outgoing(image, seq, jpeg(image)))
            assert sent.reply.frame_id is not None
            seqs.append(seq)
    finally:
        camera.uplink.close()
    return seqs


def neck_cut(model: Path) -> int:
    """Inside YOLOv8n's neck: several tensors (skip connections) cross the cut."""
    nodes = onnx.load(str(model)).graph.node
    return next(i for i, n in enumerate(nodes) if n.name == "/model.12/Concat")


def corners(d: Detection) -> npt.NDArray[np.float64]:
    return np.array([d.box.x1, d.box.y1, d.box.x2, d.box.y2])


def assert_same(got: list[Detection], want: list[Detection], px: float, score: float) -> None:
    """Same labels and boxes within `px`; a detection whose confidence is within `score` of
    the threshold may be missing on either side (rounding can move it across)."""
    for ours, theirs in ((got, want), (want, got)):
        for d in ours:
            if d.confidence < CONFIDENCE + score:
                continue
            near = [
                t
                for t in theirs
                if t.label == d.label and np.abs(corners(t) - corners(d)).max() <= px
            ]
            assert near, f"{d} has no counterpart within {px} px"
            assert min(abs(t.confidence - d.confidence) for t in near) <= score


def test_a_neck_cut_in_float32_stores_what_the_unsplit_model_finds(
    edge: EdgeProcess,
    edgent_model: Path,
    frames: list[npt.NDArray[np.uint8]],
    reference: list[list[Detection]],
) -> None:
    cut = neck_cut(edgent_model)
    seqs = send(edge, edgent_model, cut, "float32", frames)
    for seq, want in zip(seqs, reference, strict=True):
        got = stored_detections(edge.db_path, seq)
        assert len(got) == len(want)
        assert_same(got, want, px=1e-2, score=1e-4)
    # What went were the float32 tensors crossing the cut (plus the message header).
    sizes = stored_body_bytes(edge.db_path, CAMERA)[-len(frames) :]
    payload = 4 * crossing_elements(edgent_model, cut)
    assert all(payload < size < payload + HEADER_BYTES for size in sizes), (sizes, payload)


def test_float16_keeps_boxes_within_a_few_pixels(
    edge: EdgeProcess,
    edgent_model: Path,
    frames: list[npt.NDArray[np.uint8]],
    reference: list[list[Detection]],
) -> None:
    seqs = send(edge, edgent_model, neck_cut(edgent_model), "float16", frames)
    for seq, want in zip(seqs, reference, strict=True):
        assert_same(stored_detections(edge.db_path, seq), want, px=4.0, score=0.01)


def test_device_only_sends_only_the_detections_and_the_edge_stores_them(
    edge: EdgeProcess,
    edgent_model: Path,
    frames: list[npt.NDArray[np.uint8]],
    reference: list[list[Detection]],
) -> None:
    nodes = load_exit(EXIT, edgent_model).nodes
    # float16 crossing tensors: the detections still go as exact float32.
    seqs = send(edge, edgent_model, nodes, "float16", frames)
    for seq, want in zip(seqs, reference, strict=True):
        got = stored_detections(edge.db_path, seq)
        assert len(got) == len(want)
        assert_same(got, want, px=1e-2, score=1e-4)
    # 24 bytes a detection and a small header, not the [1, 84, N] output (~42 kB at 160 px).
    sizes = stored_body_bytes(edge.db_path, CAMERA)[-len(frames) :]
    for size, want in zip(sizes, reference, strict=True):
        assert size < 24 * len(want) + 512, (size, len(want))


def test_edge_only_sends_the_jpeg_to_the_edges_detector(
    edge: EdgeProcess,
    edgent_model: Path,
    frames: list[npt.NDArray[np.uint8]],
    detector: YoloOnnxDetector,
) -> None:
    before = store_counts(edge.db_path)
    seqs = send(edge, edgent_model, 0, "float32", frames)
    for seq, image in zip(seqs, frames, strict=True):
        decoded = cv2.imdecode(np.frombuffer(jpeg(image), np.uint8), cv2.IMREAD_COLOR)
        want = detector.detect(np.asarray(decoded, dtype=np.uint8))
        assert_same(stored_detections(edge.db_path, seq), want, px=1e-2, score=1e-4)
    assert store_counts(edge.db_path)["frames"] == before["frames"] + len(frames)


def test_every_upload_reports_the_plan_to_the_edge(edge: EdgeProcess) -> None:
    with httpx.Client(base_url=edge.base_url) as client:
        camera = camera_stats(client, edge, CAMERA)
        exits = stats(client, edge)["edge"]["cameras"][CAMERA]["exits"]
    assert camera["plan"] is not None
    assert camera["plan"]["reason"].startswith("pinned in the camera config")
    assert exits["split"] > 0, "tensor frames are answered by the split exit"


def test_a_camera_node_with_edgent_sends_its_frames_as_tensors(
    edge: EdgeProcess, edgent_model: Path, tmp_path: Path
) -> None:
    config = CameraConfig(
        id=NODE,
        source=str(vtest_path()),
        edge_url=edge.base_url,
        token=NODE_TOKEN,
        edgent=camera_edgent(
            edgent_model,
            pin={"exit": EXIT, "cut": neck_cut(edgent_model)},
            picture_interval_s=None,  # only tensors: no pictures for snapshots
        ),
    )
    node = run_camera_node(config, max_frames=10)
    assert node.frames_sent > 0 and node.upload_failures == 0
    assert node.jpegs_encoded == 0  # nothing went as a JPEG, so none was made
    # float16 (the default encoding) tensors crossing the cut went, not JPEGs.
    payload = 2 * crossing_elements(edgent_model, neck_cut(edgent_model))
    sizes = stored_body_bytes(edge.db_path, NODE)
    assert len(sizes) == node.frames_sent and node.bytes_sent == sum(sizes)
    assert all(payload < size < payload + HEADER_BYTES for size in sizes), (sizes, payload)
    with httpx.Client(base_url=edge.base_url) as client:
        camera = camera_stats(client, edge, NODE)
        counted = stats(client, edge)["edge"]["cameras"][NODE]
    assert camera["frames_received"] == node.frames_sent
    assert counted["received_by_reason"] == node.sent_by_reason  # why each went, both sides
    assert camera["detections"] > 0


def test_a_camera_node_plans_online_and_the_edge_shows_its_plan(
    edge: EdgeProcess, edgent_model: Path, tmp_path: Path
) -> None:
    """The whole loop through `appliance camera`'s runtime: profiles, the planner fed with the
    node's own uploads (the first a JPEG probe), tensors or JPEGs as planned, the plan shown."""
    config = CameraConfig(
        id=PLANNED,
        source=str(vtest_path()),
        edge_url=edge.base_url,
        token=PLANNED_TOKEN,
        edgent=camera_edgent(
            edgent_model,
            device_profile=str(slow_camera_profile(tmp_path)),
            edge_profile=str(FIXTURES / "edge.json"),
            deadline_ms=200.0,
            min_confidence=CONFIDENCE,
        ),
    )
    node = run_camera_node(config, max_frames=12)
    assert node.frames_sent > 0 and node.upload_failures == 0
    assert len(stored_body_bytes(edge.db_path, PLANNED)) == node.frames_sent
    with httpx.Client(base_url=edge.base_url) as client:
        camera = camera_stats(client, edge, PLANNED)
    report = camera["plan"]
    assert report["bandwidth_measured"], "the first frame went as a JPEG probe and measured"
    assert report["plan"]["exit"] == EXIT and report["deadline_ms"] == 200.0
    assert report["reason"]
    assert camera["frames_received"] == node.frames_sent
    # What the frames took, measured on the camera, beside the plan's prediction: the report
    # leaves with a frame, so it counts every frame before the last.
    assert report["frames_timed"] == node.frames_sent - 1
    assert 0 <= report["frames_met"] <= report["frames_timed"] and report["last_ms"] > 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_camera_on_device_only_probes_the_uplink_with_a_jpeg_when_it_went_unmeasured(
    edge: EdgeProcess,
    edgent_model: Path,
    frames: list[npt.NDArray[np.uint8]],
    tmp_path: Path,
) -> None:
    """Device-only sends a few hundred bytes, too few to measure the uplink: without probes a
    camera that fell back to device-only on a slow link would never see it recover."""
    config = CameraEdgentConfig.model_validate(
        camera_edgent(
            edgent_model,
            device_profile=str(slow_camera_profile(tmp_path)),
            edge_profile=str(FIXTURES / "edge.json"),
            min_confidence=CONFIDENCE,
        )
    )
    clock = Clock()
    camera = collaborative_uploader(
        config, EdgeUplink(edge.base_url, CAMERA, TOKEN, timeout_s=60.0), clock
    )
    plans = camera.plans
    assert isinstance(plans, OnlinePlans)
    nodes = load_exit(EXIT, edgent_model).nodes
    for step in range(60):  # a slow uplink, measured: 200 kB at 0.2 Mbit/s each second
        plans.record_transfer(200_000, 8.0, float(step))
    clock.now = 60.0
    try:
        image = frames[0]
        quiet = camera.upload(outgoing(image, next(_seqs), jpeg(image)))
        assert plans.choose(clock.now).cut == nodes
        # Device-only sends the detections only: too few bytes to measure the uplink with.
        assert quiet.sent_bytes < plans.planner.bandwidth.settings.min_bytes
        measured = plans.planner.bandwidth.samples
        clock.now += plans.planner.bandwidth.settings.probe_after_s
        probe = camera.upload(outgoing(image, next(_seqs), jpeg(image)))
        assert probe.sent_bytes == len(jpeg(image)), "the probe is the frame's JPEG"
        assert probe.reply.frame_id is not None, "and the edge analysed it"
        assert plans.planner.bandwidth.samples == measured + 1
        assert plans.planner.bandwidth.bps() > 0.3e6, "the fast loopback link was measured"
    finally:
        camera.uplink.close()


def event_snapshots(db_path: Path, camera: str) -> list[str | None]:
    with closing(sqlite3.connect(db_path)) as db:
        rows = db.execute("SELECT snapshot FROM events WHERE camera_id = ?", (camera,)).fetchall()
    return [r[0] for r in rows]


def test_events_seen_only_on_tensors_get_snapshots_from_a_picture_the_edge_asks_for(
    edge: EdgeProcess, edgent_model: Path, frames: list[npt.NDArray[np.uint8]]
) -> None:
    clock = Clock()
    exits = {EXIT: load_exit(EXIT, edgent_model)}
    whole = DeviceOnly.for_exits(exits, lambda labels: YoloDecoding(labels, CONFIDENCE))
    camera = CollaborativeUploader(
        EdgeUplink(edge.base_url, PICTURES, PICTURES_TOKEN, timeout_s=60.0),
        exits,
        PinnedPlan(EXIT, neck_cut(edgent_model), 300.0),
        TensorCodec("float16"),
        whole,
        clock=clock,
    )
    try:
        replies = []
        for image in frames[:2]:  # tensors: the tracks confirm, the edge has no picture of them
            replies.append(camera.upload(outgoing(image, next(_seqs), jpeg(image))))
            clock.now += 0.5
        assert all(r.sent_bytes != len(jpeg(frames[0])) for r in replies)
        assert event_snapshots(edge.db_path, PICTURES), "events were opened from tensors"
        assert not any(event_snapshots(edge.db_path, PICTURES))
        assert replies[-1].reply.feedback.send_picture, "so the edge asks for a picture"
        picture = camera.upload(outgoing(frames[2], next(_seqs), jpeg(frames[2])))
        assert picture.sent_bytes == len(jpeg(frames[2])), "the next frame went as its JPEG"
        assert any(event_snapshots(edge.db_path, PICTURES)), "and events got snapshots from it"
        clock.now += 0.5
        after = camera.upload(outgoing(frames[1], next(_seqs), jpeg(frames[1])))
        assert after.sent_bytes != len(jpeg(frames[1])), "then tensors again"
    finally:
        camera.uplink.close()
