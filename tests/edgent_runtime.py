"""Helpers for the Edgent runtime tests: a real YOLOv8n export whose detections depend on the
image, an edge box configured to run its tails, and the camera-side uploader aimed at it.

`live_weights` (tests/edgent_models.py) keeps activations alive, but its class scores saturate
at 1.0 for hundreds of candidates per frame: a threshold cannot pick a few. Scaling the last
convolution of each class branch down spreads the scores over ~0.5-0.75, so a threshold of
`CONFIDENCE` keeps a handful to a few dozen detections per vtest frame, different per frame.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from cameras.collaborative import CollaborativeUploader
from cameras.device_only import DeviceOnly
from cameras.edge_client import EdgeUplink
from cameras.edgent_plan import PinnedPlan
from cameras.protocol import FrameMeta
from cameras.uploaders import Outgoing
from pipelines.detectors.yolo_decode import YoloDecoding
from pipelines.edgent.codec import Encoding, TensorCodec
from pipelines.edgent.exits import load_exit
from pipelines.types import Box, Detection
from tests.edgent_fixtures import CAMERA_SLOWDOWN, FIXTURES
from tests.edgent_models import export_yolov8n, live_weights

SIZE = 160
CONFIDENCE = 0.65
CLASS_SCALE = 0.05
EXIT = "full"
CAMERA, TOKEN = "cam", "edgent-token-1"
T0 = 1_700_000_000.0


def soft_scores_model(folder: Path) -> Path:
    """A YOLOv8n export (160 px) with live weights and class scores spread out, saved."""
    model = live_weights(onnx.load(str(export_yolov8n(folder, SIZE))))
    weights = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Conv" and "/cv3." in node.name and node.name.endswith("2/Conv"):
            tensor = weights[node.input[1]]
            scaled = numpy_helper.to_array(tensor) * np.float32(CLASS_SCALE)
            tensor.CopyFrom(numpy_helper.from_array(scaled.astype(np.float32), tensor.name))
    path = folder / "yolov8n-soft-160.onnx"
    onnx.save(model, str(path))
    return path


def slow_camera_profile(folder: Path) -> Path:
    """The recorded camera profile made `CAMERA_SLOWDOWN`x slower (a Pi-class node)."""
    profile = json.loads((FIXTURES / "camera.json").read_text())
    profile["scale"] *= CAMERA_SLOWDOWN
    path = folder / "cam.json"
    path.write_text(json.dumps(profile))
    return path


def camera_edgent(model: Path, **changes: Any) -> dict[str, Any]:
    """Camera config `edgent:` with `model` as its one exit (declared accuracy 1)."""
    return {
        "enabled": True,
        "exits": [{"name": EXIT, "model_path": str(model), "accuracy": 1.0}],
        **changes,
    }


def edge_extra(model: Path, **edgent: Any) -> dict[str, Any]:
    """Edge config: the same model as its detector (for JPEG frames) and as Edgent's exit."""
    return {
        "detector": {
            "kind": "yolo-onnx",
            "yolo_onnx": {"model_path": str(model), "min_confidence": CONFIDENCE},
        },
        "result_cache": {"enabled": False},
        "tracker": {"min_hits": 1},
        "edgent": {
            "enabled": True,
            "exits": [{"name": EXIT, "model_path": str(model)}],
            "min_confidence": CONFIDENCE,
            **edgent,
        },
    }


def uploader(base_url: str, model: Path, cut: int, encoding: Encoding) -> CollaborativeUploader:
    """The camera's collaborative uploader with a pinned plan, aimed at the edge."""
    uplink = EdgeUplink(base_url, CAMERA, TOKEN, timeout_s=60.0)
    exits = {EXIT: load_exit(EXIT, model)}
    plans = PinnedPlan(EXIT, cut, 300.0)
    # The camera decodes device-only frames with the edge's settings (`edge_extra`).
    whole = DeviceOnly.for_exits(exits, lambda labels: YoloDecoding(labels, CONFIDENCE))
    # Pictures the edge asks for (snapshots) would replace tensors: off, to compare tensors.
    return CollaborativeUploader(
        uplink, exits, plans, TensorCodec(encoding), whole, picture_interval_s=None
    )


def outgoing(image: np.ndarray, seq: int, jpeg: bytes) -> Outgoing:
    meta = FrameMeta(seq=seq, captured_at=T0 + seq, filter_score=0.2)
    return Outgoing(seq, T0 + seq, jpeg, meta, [], [], image)


def stored_detections(db_path: Path, seq: int) -> list[Detection]:
    """The detections the edge stored for the camera's frame `seq`."""
    with closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(
            "SELECT d.label, d.confidence, d.x1, d.y1, d.x2, d.y2 FROM detections d"
            " JOIN frames f ON f.id = d.frame_id WHERE f.camera_id = ? AND f.seq = ?",
            (CAMERA, seq),
        ).fetchall()
    return [Detection(r[0], r[1], Box(*r[2:])) for r in rows]


def stored_body_bytes(db_path: Path, camera: str) -> list[int]:
    """Body sizes (JPEG or tensor message) of the camera's stored frames, in capture order."""
    with closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(
            "SELECT jpeg_bytes FROM frames WHERE camera_id = ? ORDER BY captured_at", (camera,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def crossing_elements(model: Path, cut: int) -> int:
    """Elements of the tensors crossing `cut` of the model (what the camera sends)."""
    from pipelines.edgent.split import model_layout

    return model_layout(onnx.load(str(model)), EXIT).cuts[cut].elements


def store_counts(db_path: Path) -> Mapping[str, int]:
    with closing(sqlite3.connect(db_path)) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("frames", "detections", "events")
        }
