"""Query control under overload: when a camera's uploads are still busy, the frames it chooses
meanwhile are dropped on the camera, and the edge sees long gaps between the ones that arrive.
The answers held over those gaps are stale, but asking the camera for more frames would only
add to what it drops: while the camera's count of dropped frames grows (`FrameMeta.dropped_busy`)
the edge asks for fewer, so that the camera chooses evenly what can be analysed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.edge_process import EdgeProcess, running_edge
from tests.live_edge import post_frame, vtest_jpegs

CAMERA, TOKEN = "gate", "gate-token-1234"
GAP = 12
"""Frames between those that arrive: people walk out of their boxes, the held answer is stale."""


def replies(edge: EdgeProcess, jpegs: list[bytes], dropping: bool) -> list[dict[str, Any]]:
    """Post the frames as a node that could upload one in `GAP`; `dropping`: it chose the ones
    between too and says so (its dropped count grows), else its skip share left them out."""
    answers = []
    with httpx.Client(base_url=edge.base_url, timeout=30.0) as client:
        for index, jpeg in enumerate(jpegs):
            dropped = index * (GAP - 1) if dropping else 0
            response = post_frame(
                client,
                edge,
                CAMERA,
                jpeg,
                index * GAP,
                captured_at=time.time() + index,
                dropped_busy=dropped,
            )
            assert response.status_code == 200, response.text
            answers.append(response.json()["feedback"])
    return answers


def advice(tmp_path: Path, dropping: bool) -> tuple[list[tuple[float, float]], int]:
    """The threshold and skip share of each reply, and the back-offs `/api/v1/stats` counts."""
    jpegs = vtest_jpegs(6, start=100)[:1] + vtest_jpegs(60, start=100)[GAP::GAP]
    cameras = [{"id": CAMERA, "name": CAMERA, "token": TOKEN, "query": "boxes"}]
    with running_edge(tmp_path, {CAMERA: TOKEN}, extra={"cameras": cameras}) as edge:
        feedback = replies(edge, jpegs, dropping)
        stats = httpx.get(f"{edge.base_url}/api/v1/stats", headers=edge.read_headers()).json()
    (camera,) = [c for c in stats["cameras"] if c["id"] == CAMERA]
    pairs = [(f["difference_threshold"], f["skip_share"]) for f in feedback]
    return pairs, camera["control"]["backoffs"]


def test_the_edge_asks_for_more_frames_when_its_answers_go_stale(tmp_path: Path) -> None:
    steered, backoffs = advice(tmp_path / "skipping", dropping=False)
    assert steered[-1][0] < steered[0][0], steered  # a lower threshold: more frames
    assert backoffs == 0


def test_the_edge_asks_for_fewer_frames_while_the_camera_drops_what_it_chose(
    tmp_path: Path,
) -> None:
    backing_off, backoffs = advice(tmp_path / "dropping", dropping=True)
    assert backoffs == len(backing_off) - 1  # every gap but the first frame's: shown to users
    thresholds = [threshold for threshold, _ in backing_off]
    skips = [skip for _, skip in backing_off]
    assert thresholds == sorted(thresholds) and thresholds[-1] > thresholds[0], backing_off
    assert skips == sorted(skips) and skips[-1] > skips[0], backing_off
