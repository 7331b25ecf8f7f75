"""People redacted on the way out, on a real edge box fed real vtest frames (the default
detector finds the people) with its cloud uplink on a real Mosquitto broker: the thumbnail
that reaches the broker has each person pixelated and the rest of the picture as it was, while
the snapshot stored on the box stays the original; with `privacy.redact.viewers` the viewer
token reads redacted snapshots and live pictures and the admin the originals; the annotated
picture shows the camera's zone and masks."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from typing import Any

import cv2
import httpx
import numpy as np
import numpy.typing as npt
import pytest

from appliance.mqtt.wire import MESSAGE, EventRecord, EventsMessage
from pipelines.redaction import RedactionSettings, RedactionStyle, redact
from pipelines.types import Box
from tests.cloud_processes import PREFIX, cloud_section
from tests.edge_process import EdgeProcess, running_edge
from tests.live_edge import vtest_jpegs
from tests.mosquitto_server import MosquittoServer
from tests.mqtt_clients import Collector
from tests.server_process import wait_for

Image = npt.NDArray[np.uint8]
CAMERA = "door"
VIEWER_TOKEN = "viewer-" + secrets.token_hex(8)
VIEWER = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
ZONE = [[100, 300], [700, 300], [700, 570], [100, 570]]
MOTION = [[560, 20], [750, 20], [750, 140], [560, 140]]
PRIVACY = [[10, 10], [150, 10], [150, 100], [10, 100]]
MARGIN = 0.5
"""Snapshot margin: a wide band around the person, to check it is left as it was."""
FRAMES = 16


@dataclass
class Site:
    edge: EdgeProcess
    collector: Collector
    fed: list[bytes]
    """The JPEGs fed, in order."""
    replies: list[dict[str, Any]]
    """The edge's replies to them (what it found on each)."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("redaction")
    with MosquittoServer() as broker:
        assert broker.port is not None
        collector = Collector(broker.port, f"{PREFIX}/#", client_id="redaction-test").start()
        try:
            with running_edge(work, *_edge_config(broker.port)) as edge:
                fed = vtest_jpegs(FRAMES * 2)[::2]
                yield Site(edge, collector, [*fed, fed[0]], _feed(edge, fed))
        finally:
            collector.stop()


def _edge_config(broker_port: int) -> tuple[dict[str, str], str, dict[str, Any]]:
    tokens = {CAMERA: "door-" + secrets.token_hex(8)}
    camera = {
        "id": CAMERA,
        "token": tokens[CAMERA],
        "zones": [{"name": "path", "points": ZONE}],
        "masks": {"motion": [MOTION], "privacy": [PRIVACY]},
    }
    cloud = cloud_section(broker_port, thumbnails=True, thumbnail_width=320)
    extra = {
        "cameras": [camera],
        "access": {"viewer_token": VIEWER_TOKEN},
        "cloud": {**cloud, "thumbnail_max_bytes": 32_768},
        "snapshots": {"margin": MARGIN},
        "privacy": {"redact": {"viewers": True}},
    }
    return tokens, "api-" + secrets.token_hex(8), extra


def _feed(edge: EdgeProcess, jpegs: list[bytes]) -> list[dict[str, Any]]:
    """The frames at 5 fps, then the first again 5 s later: the tracker's max_age_s (2 s) has
    passed, so the events seen so far end and go to the cloud."""
    start = time.time() - FRAMES * 0.2
    times = [start + 0.2 * i for i in range(FRAMES)] + [time.time() + 5.0]
    replies = []
    with httpx.Client(base_url=edge.base_url, timeout=60) as client:
        for seq, (jpeg, captured_at) in enumerate(zip([*jpegs, jpegs[0]], times, strict=True)):
            meta = {"seq": seq, "captured_at": captured_at, "filter_score": 0.2}
            headers = {
                "Authorization": f"Bearer {edge.tokens[CAMERA]}",
                "Content-Type": "image/jpeg",
                "X-Frame-Meta": json.dumps(meta),
            }
            posted = client.post(f"/api/v1/cameras/{CAMERA}/frames", content=jpeg, headers=headers)
            assert posted.status_code == 200, posted.text
            replies.append(posted.json())
    return replies


# --- measures -------------------------------------------------------------------------------


def decode(jpeg: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return np.asarray(image, np.uint8)


def edges(image: Image, box: Box) -> npt.NDArray[np.float64]:
    """The fine detail in `box`: the Laplacian of its grey pixels."""
    x1, y1, x2, y2 = (round(v) for v in (box.x1, box.y1, box.x2, box.y2))
    grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return np.asarray(cv2.Laplacian(grey, cv2.CV_64F), np.float64)


def kept_detail(copy: Image, original: Image, box: Box) -> float:
    """How much of the original's fine detail in `box` the copy keeps: the correlation of their
    Laplacians (a JPEG of the original keeps 0.6 to 0.8; pixelation's block edges and a blur
    keep none of it, whatever energy their own edges have)."""
    return float(np.corrcoef(edges(copy, box).ravel(), edges(original, box).ravel())[0, 1])


def outside(boxes: list[Box], shape: tuple[int, ...], grow_px: int) -> npt.NDArray[np.bool_]:
    """Pixels farther than `grow_px` (plus the redaction's 10 % padding) from every box."""
    keep = np.ones(shape[:2], bool)
    for box in boxes:
        dx, dy = box.width * 0.1 + grow_px, box.height * 0.1 + grow_px
        x1, y1 = max(0, round(box.x1 - dx)), max(0, round(box.y1 - dy))
        keep[y1 : max(y1, round(box.y2 + dy)), x1 : max(x1, round(box.x2 + dx))] = False
    return keep


def inner(box: Box, share: float = 0.2) -> Box:
    """The middle of `box` (its padding's blocks straddle the edges)."""
    dx, dy = box.width * share, box.height * share
    return Box(box.x1 + dx, box.y1 + dy, box.x2 - dx, box.y2 - dy)


def best_box(site: Site, event_id: str) -> Box:
    """The event's best box as the edge stored it (the record's is rounded to pixels)."""
    with httpx.Client(base_url=site.edge.base_url, timeout=30) as client:
        event = client.get(f"/api/v1/events/{event_id}", headers=site.edge.read_headers())
    assert event.status_code == 200, event.text
    row = event.json()
    return Box(row["best_x1"], row["best_y1"], row["best_x2"], row["best_y2"])


def best_frame(site: Site, track: int, best: Box) -> tuple[Image, list[Box]]:
    """The frame the event's best box came from, as fed, and the people the edge found on it
    (replies give boxes to a tenth of a pixel)."""
    for jpeg, reply in zip(site.fed, site.replies, strict=True):
        for found in reply["detections"]:
            box = found["box"]
            corners = (box["x1"], box["y1"], box["x2"], box["y2"])
            if found["track_id"] == track and all(
                abs(a - b) <= 0.06 for a, b in zip(corners, astuple(best), strict=True)
            ):
                return decode(jpeg), people(reply)
    raise AssertionError(f"no reply shows track {track} at {best}")


def people(reply: dict[str, Any]) -> list[Box]:
    return [
        Box(d["box"]["x1"], d["box"]["y1"], d["box"]["x2"], d["box"]["y2"])
        for d in reply["detections"]
        if d["label"] == "person"
    ]


def snapshot_origin(best: Box) -> tuple[float, float]:
    """Where the snapshot (the best box and MARGIN of it each side) starts in the frame."""
    return max(0.0, best.x1 - best.width * MARGIN), max(0.0, best.y1 - best.height * MARGIN)


def moved(box: Box, origin: tuple[float, float]) -> Box:
    return Box(box.x1 - origin[0], box.y1 - origin[1], box.x2 - origin[0], box.y2 - origin[1])


def ended_people(collector: Collector) -> list[EventRecord]:
    records = []
    for payload in collector.payloads():
        message = MESSAGE.validate_json(payload)
        if isinstance(message, EventsMessage):
            records += [r for r in message.records if r.type == "end" and r.label == "person"]
    return records


# --- tests ----------------------------------------------------------------------------------


def test_thumbnails_reach_the_broker_with_people_pixelated(site: Site) -> None:
    records = wait_for(lambda: ended_people(site.collector), 60, "people's end records")
    checked = 0
    for record in records:
        assert record.thumbnail is not None, record
        sent = decode(base64.b64decode(record.thumbnail))
        stored_path = site.edge.data_dir / "snapshots" / CAMERA / f"{record.event}.jpg"
        stored = decode(stored_path.read_bytes())
        assert sent.shape == stored.shape  # narrower than thumbnail_width: not shrunk
        best = best_box(site, record.event)
        frame, found = best_frame(site, record.track, best)
        x, y = (round(v) for v in snapshot_origin(best))
        original = frame[y : y + stored.shape[0], x : x + stored.shape[1]]
        others = [moved(b, (x, y)) for b in found]
        own = inner(moved(best, (x, y)))
        # The person: no detail left in the cloud's copy; the box keeps the original.
        assert kept_detail(sent, stored, own) < 0.25, record.event
        assert kept_detail(stored, original, own) > 0.6, record.event
        # Around the people: the picture as stored, within JPEG's error.
        keep = outside(others, sent.shape, grow_px=8)
        if keep.sum() < 200:
            continue
        difference = np.abs(sent.astype(int) - stored.astype(int))[keep]
        assert difference.mean() < 4.0 and np.percentile(difference, 99) < 30, record.event
        checked += 1
    assert checked >= 1, "no thumbnail had room around its people to compare"


def test_viewers_read_redacted_snapshots_and_live_pictures_the_admin_originals(
    site: Site,
) -> None:
    admin = site.edge.read_headers()
    with httpx.Client(base_url=site.edge.base_url, timeout=30) as client:
        events = client.get("/api/v1/events", params={"label": "person"}, headers=admin).json()
        event = next(e for e in events if e["snapshot"])
        path = f"/api/v1/events/{event['id']}/snapshot.jpg"
        as_admin, as_viewer = client.get(path, headers=admin), client.get(path, headers=VIEWER)
        assert as_admin.status_code == as_viewer.status_code == 200
        stored = (site.edge.data_dir / event["snapshot"]).read_bytes()
        assert as_admin.content == stored
        best = Box(event["best_x1"], event["best_y1"], event["best_x2"], event["best_y2"])
        own = inner(moved(best, snapshot_origin(best)))
        original, redacted = decode(as_admin.content), decode(as_viewer.content)
        assert kept_detail(redacted, original, own) < 0.25

        live = f"/api/v1/cameras/{CAMERA}/frame.jpg"
        admin_view, viewer_view = client.get(live, headers=admin), client.get(live, headers=VIEWER)
        # A browser's ticket sees what the token that asked for it sees (the same picture).
        for headers, view in ((admin, admin_view), (VIEWER, viewer_view)):
            issued = client.post(f"/api/v1/cameras/{CAMERA}/viewer-ticket", headers=headers)
            ticketed = client.get(live, params={"ticket": issued.json()["ticket"]})
            assert ticketed.status_code == 200 and ticketed.content == view.content
    assert admin_view.headers["X-Frame-Version"] == viewer_view.headers["X-Frame-Version"]
    found = people(site.replies[-1])
    assert found, "the last frame shows no one"
    shown, hidden = decode(admin_view.content), decode(viewer_view.content)
    assert all(kept_detail(hidden, shown, inner(b)) < 0.25 for b in found)
    keep = outside(found, shown.shape, grow_px=16)
    difference = np.abs(shown.astype(int) - hidden.astype(int))[keep]
    assert difference.mean() < 1.0


def test_the_annotated_picture_shows_the_zone_and_the_masks(site: Site) -> None:
    path = f"/api/v1/cameras/{CAMERA}/frame.jpg"
    with httpx.Client(base_url=site.edge.base_url, timeout=30) as client:
        picture = client.get(path, headers=VIEWER)
        plain = client.get(path, params={"annotated": "false"}, headers=site.edge.read_headers())
    assert picture.status_code == plain.status_code == 200
    drawn, bare = decode(picture.content), decode(plain.content)
    for polygon, colour in (
        (ZONE, (255, 191, 0)),
        (MOTION, (0, 200, 255)),
        (PRIVACY, (200, 60, 220)),
    ):
        assert outline_share(drawn, polygon, colour) > 0.6, polygon
        assert outline_share(bare, polygon, colour) < 0.2, polygon  # the frame's own colours


def outline_share(image: Image, polygon: list[list[int]], colour: tuple[int, int, int]) -> float:
    """Share of points along the polygon's edges drawn in `colour` (within JPEG's error)."""
    height, width = image.shape[:2]
    hits = total = 0
    corners = [np.array(p, float) for p in polygon]
    for a, b in zip(corners, corners[1:] + corners[:1], strict=True):
        for t in np.linspace(0.05, 0.95, 40):
            x, y = np.round(a + (b - a) * t).astype(int)
            x, y = min(max(x, 0), width - 1), min(max(y, 0), height - 1)
            near = image[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).astype(int)
            total += 1
            hits += bool((np.abs(near - np.array(colour)).max(axis=1) < 60).any())
    return hits / total


def test_redaction_leaves_no_detail_and_touches_nothing_else() -> None:
    """The stage alone, on a real vtest frame: a person-sized box loses its detail in either
    style, the pixels outside the padded box are the picture's own, the picture is not
    changed, and a box outside the picture changes nothing."""
    image = decode(vtest_jpegs(1)[0])
    box = Box(300.0, 200.0, 360.0, 360.0)
    for style in RedactionStyle:
        before = image.copy()
        redacted = redact(image, [box], RedactionSettings(style=style))
        assert np.array_equal(image, before)
        assert kept_detail(redacted, image, inner(box)) < 0.2, style
        keep = outside([box], image.shape, grow_px=1)
        assert np.array_equal(redacted[keep], image[keep])
    assert redact(image, [Box(900.0, 700.0, 950.0, 800.0)], RedactionSettings()) is image
    with pytest.raises(ValueError, match="min_block_px"):
        RedactionSettings(min_block_px=1)
