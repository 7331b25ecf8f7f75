"""`POST /api/v1/cameras/{id}/tensors` refuses bad input with a clear 4xx and stores nothing.

A real `appliance edge` process with Edgent on; valid messages are made by the camera-side
code from a real vtest frame, then damaged the ways a broken or hostile client would.
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cameras.edgent_plan import Choice
from cameras.tensor_meta import TENSOR_META_HEADER, TensorMeta
from pipelines.detectors.yolo_decode import DETECTIONS_TENSOR
from pipelines.edgent.codec import MAGIC_ZLIB, TensorCodec
from pipelines.edgent.exits import load_exit
from tests.edge_process import EdgeProcess, running_edge, stats
from tests.edgent_runtime import CAMERA, EXIT, TOKEN, edge_extra, outgoing, store_counts, uploader
from tests.footage import vtest_frames

MAX_MESSAGE_BYTES = 3_000_000
CUT = 40
DETECTIONS_FRAME = 100  # a vtest frame where the model finds several objects
_seqs = itertools.count(1)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, edgent_model: Path) -> Iterator[EdgeProcess]:
    extra = edge_extra(edgent_model, max_message_bytes=MAX_MESSAGE_BYTES)
    work = tmp_path_factory.mktemp("edgent-api")
    with running_edge(work, {CAMERA: TOKEN}, extra=extra, startup_timeout_s=60) as edge:
        yield edge


@pytest.fixture(scope="module")
def client(edge: EdgeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.base_url, timeout=60.0) as client:
        yield client


def valid(
    edge: EdgeProcess, model: Path, cut: int = CUT, frame: int = 50
) -> tuple[bytes, TensorMeta]:
    """A real message of the head at `cut` on a vtest frame, and its metadata."""
    image = vtest_frames(frame, 1)[0]
    camera = uploader(edge.base_url, model, cut, "float16")
    seq = next(_seqs)
    status = {"deadline_ms": 300.0, "bandwidth_mbps": 1.0, "bandwidth_measured": False,
              "device_load": 1.0, "edge_load": 1.0, "switches": 0, "plan": None}  # fmt: skip
    head = camera.head(image, outgoing(image, seq, b""), Choice(EXIT, cut, status))
    return head.message, head.meta


def post(
    client: httpx.Client,
    body: bytes,
    meta: TensorMeta | dict[str, Any] | None,
    camera: str = CAMERA,
    token: str = TOKEN,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if meta is not None:
        text = meta.model_dump_json() if isinstance(meta, TensorMeta) else json.dumps(meta)
        headers[TENSOR_META_HEADER] = text
    return client.post(f"/api/v1/cameras/{camera}/tensors", content=body, headers=headers)


def damaged(meta: TensorMeta, **changes: Any) -> dict[str, Any]:
    return {**json.loads(meta.model_dump_json()), **changes}


def test_bad_uploads_are_refused_and_nothing_is_stored(
    edge: EdgeProcess, client: httpx.Client, edgent_model: Path
) -> None:
    message, meta = valid(edge, edgent_model)
    other, other_meta = valid(edge, edgent_model, cut=CUT + 30)
    nodes = load_exit(EXIT, edgent_model).nodes
    before = store_counts(edge.db_path)
    cases: list[tuple[int, str, bytes, TensorMeta | dict[str, Any] | None, dict[str, str]]] = [
        (422, "unknown exit 'tiny'", message, damaged(meta, exit="tiny"), {}),
        (422, f"outside 0..{nodes}", message, damaged(meta, cut=nodes + 1), {}),
        (422, "cut", message, damaged(meta, cut=-1), {}),
        (422, "frame_width", message, damaged(meta, frame_width=0), {}),
        (422, "exit", message, {k: v for k, v in damaged(meta).items() if k != "exit"}, {}),
        (400, f"missing {TENSOR_META_HEADER}", message, None, {}),
        (400, "truncated", message[:-100], meta, {}),
        (400, "not an Edgent tensor message", b"GIF89a not tensors at all", meta, {}),
        (400, "empty body", b"", meta, {}),
        (422, "takes tensors", other, meta, {}),
        (422, "takes tensors", message, other_meta, {}),
        (422, "does not fit", message, damaged(meta, pad_x=200), {}),
        (413, "exceeds", b"\0" * (MAX_MESSAGE_BYTES + 1), meta, {}),
        (401, "token", message, meta, {"token": "wrong-token-123"}),
        (401, "token", message, meta, {"camera": "nobody"}),
    ]
    for status, reason, body, sent_meta, who in cases:
        response = post(client, body, sent_meta, **who)
        assert response.status_code == status, (reason, response.text)
        assert reason in response.json()["detail"], (reason, response.text)
    assert store_counts(edge.db_path) == before


def test_tensors_of_the_wrong_shape_or_values_are_refused(
    edge: EdgeProcess, client: httpx.Client, edgent_model: Path
) -> None:
    message, meta = valid(edge, edgent_model)
    tensors = TensorCodec.decode(message)
    before = store_counts(edge.db_path)
    name = next(iter(tensors))
    smaller = {**tensors, name: tensors[name][..., :-1]}
    response = post(client, TensorCodec("float32").encode(smaller), meta)
    assert response.status_code == 422 and f"tensor {name!r} is" in response.json()["detail"]
    poisoned = {k: v.copy() for k, v in tensors.items()}
    poisoned[name].flat[0] = np.nan
    response = post(client, TensorCodec("float32").encode(poisoned), meta)
    assert response.status_code == 422 and "non-finite" in response.json()["detail"]
    integers = {**tensors, name: tensors[name].astype(np.int64)}  # goes as raw int64
    response = post(client, TensorCodec("float32").encode(integers), meta)
    assert response.status_code == 422 and "cannot run" in response.json()["detail"]
    assert store_counts(edge.db_path) == before


def test_bad_detections_at_the_device_only_end_are_refused(
    edge: EdgeProcess, client: httpx.Client, edgent_model: Path
) -> None:
    nodes = load_exit(EXIT, edgent_model).nodes
    message, meta = valid(edge, edgent_model, cut=nodes, frame=DETECTIONS_FRAME)
    (good,) = TensorCodec.decode(message).values()
    assert good.shape[0] >= 1, good.shape  # the frame has detections to damage
    labels = len(load_exit(EXIT, edgent_model).labels)
    raw_output = np.zeros((1, 4 + labels, 525), np.float32)  # what the camera used to send

    def changed(column: int, value: float) -> np.ndarray:
        bad = good.copy()
        bad[0, column] = value
        return bad

    cases: list[tuple[str, dict[str, np.ndarray]]] = [
        ("takes tensors ['detections'], the message has ['output0']", {"output0": raw_output}),
        ("the message has ['detections', 'extra']", {DETECTIONS_TENSOR: good, "extra": good}),
        ("must be [N, 6], got [", {DETECTIONS_TENSOR: good[:, :5]}),
        ("must be [N, 6], got [", {DETECTIONS_TENSOR: good[None]}),
        ("more than the 300 allowed", {DETECTIONS_TENSOR: np.repeat(good[:1], 301, axis=0)}),
        ("non-finite", {DETECTIONS_TENSOR: changed(2, np.inf)}),
        ("scores must lie in [0, 1]", {DETECTIONS_TENSOR: changed(4, 1.5)}),
        (f"whole numbers in 0..{labels - 1}", {DETECTIONS_TENSOR: changed(5, labels)}),
        (f"whole numbers in 0..{labels - 1}", {DETECTIONS_TENSOR: changed(5, 0.5)}),
        ("no area inside the", {DETECTIONS_TENSOR: changed(0, meta.frame_width + 10)}),
    ]
    before = store_counts(edge.db_path)
    for problem, tensors in cases:
        response = post(client, TensorCodec("float32").encode(tensors), meta)
        assert response.status_code == 422, (problem, response.text)
        assert problem in response.json()["detail"], (problem, response.text)
    assert store_counts(edge.db_path) == before
    response = post(client, message, meta)
    assert response.status_code == 200, response.text
    assert store_counts(edge.db_path)["detections"] == before["detections"] + len(good)


def test_a_zlib_bomb_is_refused(
    edge: EdgeProcess, client: httpx.Client, edgent_model: Path
) -> None:
    _, meta = valid(edge, edgent_model)
    size = MAX_MESSAGE_BYTES * 4
    entry = {"name": "x", "shape": [size], "encoding": "int8", "scale": 1.0, "offset": 0.0}
    header = json.dumps([{**entry, "bytes": size}]).encode()
    body = zlib.compress(b"\0" * size, 9)
    bomb = MAGIC_ZLIB + len(header).to_bytes(4, "little") + header + body
    assert len(bomb) < MAX_MESSAGE_BYTES
    response = post(client, bomb, meta)
    assert response.status_code == 400 and "inflates to more than" in response.json()["detail"]


def test_the_edge_still_analyses_good_tensors_and_counts_refusals(
    edge: EdgeProcess, client: httpx.Client, edgent_model: Path
) -> None:
    message, meta = valid(edge, edgent_model)
    before = store_counts(edge.db_path)
    response = post(client, message, meta)
    assert response.status_code == 200, response.text
    assert response.json()["frame_id"] is not None
    assert store_counts(edge.db_path)["frames"] == before["frames"] + 1
    rejected = stats(client, edge)["edge"]["rejected"]
    for reason in ("unknown_exit", "bad_cut", "bad_tensors", "too_large", "unauthorised"):
        assert rejected.get(reason, 0) >= 1, rejected
