"""Motion and privacy masks, end to end: a real camera node on real footage sends to a real edge
box, and the test reads back what the edge kept (its live picture, its event snapshots).

- privacy: the far end of vtest's walkway, masked in the node's YAML, is black in every picture
  the edge holds (its live picture, event snapshots), while the rest of the scene is not;
- motion: on Debian's tree.avi (a tree swaying in the wind, nothing else), the node sends
  frames for the moving leaves; with the tree under a motion mask it sends only its first;
- live: masks PUT on the edge while the node runs apply from the node's next reply on (a motion
  mask stops the leaves' frames; a privacy mask blacks out the area), and a bad polygon is
  refused naming it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import numpy.typing as npt
import pytest

from cameras.config import CameraConfig
from cameras.node import NodeStats
from cameras.runtime import run_camera_node
from tests.edge_process import EdgeProcess, running_edge
from tests.footage import vtest_path

Image = npt.NDArray[np.uint8]
TREE_FRAMES = 52
"""tree.avi: the tree sways alone for its first 52 frames (then a hand comes in)."""
TREE = [[40, 0], [320, 0], [320, 240], [40, 240]]
"""The tree: all of tree.avi's 320x240 frame but the window post on the left."""
PRIVACY = [[0, 0], [768, 0], [768, 230], [0, 170]]
"""The top of vtest's scene, where people walk away into the distance (and two cars park)."""
SHRINK = 8
"""Pixels off the polygon's edges where its black is checked (JPEG blurs the edge a little)."""
BLACK = 16
"""Brightest a painted pixel may come back after JPEG."""
TOKENS = {cid: f"{cid}-" + secrets.token_hex(8) for cid in ("door", "tree", "lawn", "pond")}
API_TOKEN = "api-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    cameras: list[dict[str, Any]] = [{"id": c, "token": t} for c, t in TOKENS.items()]
    cameras[1]["max_frame_size"] = [320, 240]  # tree.avi's size: masks must lie inside
    work = tmp_path_factory.mktemp("masks")
    with running_edge(work, TOKENS, api_token=API_TOKEN, extra={"cameras": cameras}) as box:
        yield box


def run_node(edge: EdgeProcess, camera: str, source: Path, frames: int, **extra: Any) -> NodeStats:
    heartbeat = extra.pop("heartbeat", None)
    config = CameraConfig.model_validate(
        {"id": camera, "source": str(source), "edge_url": edge.base_url, "token": TOKENS[camera]}
        | extra
    )
    stats = run_camera_node(config, max_frames=frames, heartbeat=heartbeat)
    assert stats.upload_failures == 0
    return stats


def get(client: httpx.Client, edge: EdgeProcess, path: str) -> httpx.Response:
    response = client.get(path, headers=edge.read_headers())
    assert response.status_code == 200, response.text
    return response


def decode(jpeg: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image, np.uint8)


def live_picture(client: httpx.Client, edge: EdgeProcess, camera: str) -> Image:
    return decode(get(client, edge, f"/api/v1/cameras/{camera}/frame.jpg").content)


def inside_privacy() -> npt.NDArray[np.bool_]:
    """vtest's pixels inside the privacy polygon, SHRINK pixels off its edges."""
    drawn = np.zeros((576, 768), np.uint8)
    cv2.fillPoly(drawn, [np.array(PRIVACY, np.int32)], 255)
    return np.asarray(cv2.erode(drawn, np.ones((2 * SHRINK + 1,) * 2, np.uint8)) > 0)


def unpainted(picture: Image) -> tuple[int, float]:
    """Inside the privacy polygon on the edge's live picture: how many pixels are brighter than
    BLACK, leaving out the boxes and labels the edge draws (coloured, and the JPEG's ringing
    around them), and the share of the polygon those drawings cover."""
    inside = inside_privacy()
    pixels = picture.astype(np.int16)
    coloured = (pixels.max(axis=2) - pixels.min(axis=2) > 12).astype(np.uint8)
    drawn = (cv2.dilate(coloured, np.ones((17, 17), np.uint8)) > 0) & inside
    bright = (pixels.max(axis=2) > BLACK) & inside & ~drawn
    return int(np.count_nonzero(bright)), float(np.count_nonzero(drawn)) / np.count_nonzero(inside)


def outside_privacy(picture: Image) -> Image:
    return picture[~inside_privacy()]


def snapshot_parts(client: httpx.Client, edge: EdgeProcess, camera: str) -> list[Image]:
    """From each event snapshot (a crop around the event's best box, 15% margin), its pixels
    inside the privacy polygon; snapshots that do not overlap it are left out."""
    events = get(client, edge, f"/api/v1/events?camera={camera}").json()
    inside, parts = inside_privacy(), []
    for event in events:
        if event["snapshot"] is None:
            continue
        crop = decode(get(client, edge, f"/api/v1/events/{event['id']}/snapshot.jpg").content)
        x1, y1, x2, y2 = crop_rect(event)
        assert crop.shape[:2] == (y2 - y1, x2 - x1), "the snapshot is not the best box's crop"
        covered = inside[y1:y2, x1:x2]
        if np.count_nonzero(covered) > 0:
            parts.append(crop[covered])
    return parts


def crop_rect(event: dict[str, Any], margin: float = 0.15) -> tuple[int, int, int, int]:
    """Where the edge cropped the snapshot (appliance/edge/snapshots.py), in vtest's pixels."""
    x1, y1, x2, y2 = (event[k] for k in ("best_x1", "best_y1", "best_x2", "best_y2"))
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    grown = (max(x1 - dx, 0), max(y1 - dy, 0), min(x2 + dx, 768), min(y2 + dy, 576))
    a, b, c, d = (round(v) for v in grown)
    return a, b, c, d


def test_a_privacy_mask_is_black_in_every_picture_the_edge_keeps(edge: EdgeProcess) -> None:
    stats = run_node(edge, "door", vtest_path(), 80, masks={"privacy": [PRIVACY]})
    assert stats.frames_sent > 5
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        picture = live_picture(client, edge, "door")
        bright, drawn = unpainted(picture)
        assert bright == 0 and drawn < 0.3, (bright, drawn)
        assert np.median(outside_privacy(picture)) > 40  # the scene itself is there
        parts = snapshot_parts(client, edge, "door")
    assert parts, "no event snapshot overlaps the privacy polygon"
    assert max(int(part.max()) for part in parts) <= BLACK


def test_a_motion_mask_over_swaying_leaves_sends_only_the_first_frame(edge: EdgeProcess) -> None:
    tree = vtest_path().with_name("tree.avi")
    swaying = run_node(edge, "tree", tree, TREE_FRAMES)
    # At the clip's own pace, as a live camera: replayed faster, frames would go as keepalives
    # before the edge's first reply says that it tracks nothing here.
    masked = run_node(edge, "tree", tree, TREE_FRAMES, masks={"motion": [TREE]}, realtime=True)
    assert swaying.frames_sent >= 5, "the leaves should move enough to be sent unmasked"
    assert masked.frames_sent == 1, "changes inside the motion mask sent frames"


def test_a_privacy_mask_put_on_the_edge_applies_on_the_running_node(edge: EdgeProcess) -> None:
    url = "/api/v1/cameras/lawn/settings"
    with httpx.Client(base_url=edge.base_url, timeout=30, headers=edge.read_headers()) as client:
        check_refusals(client)
        seen: dict[str, Any] = {}

        def at_frame_40() -> None:
            seen["read"] = seen.get("read", 0) + 1
            if seen["read"] == 40:  # the node is running: mask the area now
                seen["before"] = live_picture(client, edge, "lawn")
                body = {"masks": {"privacy": [PRIVACY]}}
                assert client.put(url, json=body).status_code == 200

        run_node(edge, "lawn", vtest_path(), 90, heartbeat=at_frame_40)
        assert unpainted(seen["before"])[0] > 1000  # before the change, the area was visible
        bright, drawn = unpainted(live_picture(client, edge, "lawn"))
        assert bright == 0 and drawn < 0.3, (bright, drawn)
        assert client.get(url).json()["settings"]["masks"] == {
            "motion": [],
            "privacy": [PRIVACY],
        }


def test_a_motion_mask_put_on_the_edge_applies_from_the_nodes_next_reply(
    edge: EdgeProcess,
) -> None:
    seen: dict[str, int] = {"read": 0}
    with httpx.Client(base_url=edge.base_url, timeout=30, headers=edge.read_headers()) as client:

        def at_frame_5() -> None:
            seen["read"] += 1
            if seen["read"] == 5:  # the node runs, unmasked: its leaves would send 8 more
                seen["before"] = frames_received(client, "pond")
                body = {"masks": {"motion": [TREE]}}
                assert client.put("/api/v1/cameras/pond/settings", json=body).status_code == 200

        tree = vtest_path().with_name("tree.avi")
        stats = run_node(edge, "pond", tree, TREE_FRAMES, heartbeat=at_frame_5, realtime=True)
        after = frames_received(client, "pond")
    # The node hears of the mask in the reply to its next frame (and one more may be on its
    # way meanwhile); from then on the leaves send nothing.
    assert after - seen["before"] <= 2 and stats.frames_sent == after


def frames_received(client: httpx.Client, camera: str) -> int:
    cameras = client.get("/api/v1/stats").json()["edge"]["cameras"]
    return int(cameras[camera]["frames_received"]) if camera in cameras else 0


def check_refusals(client: httpx.Client) -> None:
    def refusal(camera: str, masks: dict[str, Any]) -> str:
        response = client.put(f"/api/v1/cameras/{camera}/settings", json={"masks": masks})
        assert response.status_code == 422, response.text
        detail: str = response.json()["detail"]
        return detail

    two_points = {"privacy": [PRIVACY, [[0, 0], [10, 10]]]}
    assert refusal("lawn", two_points).startswith("masks.privacy.1: List should have at least 3")
    negative = {"motion": [[[0, 0], [10, 0], [-5, 3]]]}
    assert refusal("lawn", negative).startswith("masks.motion.0.2.0: Input should be greater")
    assert refusal("tree", {"motion": [[[0, 0], [400, 10], [0, 200]]]}) == (
        "masks.motion.0.1: (400, 10) lies outside the camera's 320x240 frame (max_frame_size)"
    )
    assert refusal("lawn", {"blur": []}) == "masks.blur: unknown setting"
