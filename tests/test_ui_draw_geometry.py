"""The polygon editor's arithmetic on its own: clicks on a scaled picture in frame pixels, the
settings body that adds or removes one polygon and keeps the rest, and the overlay on a real
vtest frame."""

from __future__ import annotations

import numpy as np
import pytest

from tests.footage import vtest_frames
from ui.overlay import DRAFT_COLOUR, MOTION_COLOUR, Click, Layer, decode, draw, frame_point
from ui.polygons import shapes, with_polygon, without

SETTINGS = {
    "difference_threshold": 0.05,
    "query": "counts",
    "accuracy_target": 0.8,
    "zones": [{"name": "path", "points": [[0, 0], [768, 0], [768, 200]]}],
    "budget_bytes_per_s": 20000,
    "masks": {"motion": [[[0, 0], [10, 0], [10, 10]]], "privacy": []},
}


def test_a_click_on_a_scaled_picture_is_a_frame_pixel() -> None:
    # A 768x576 frame shown 1000 px wide (and 750 high): the middle is the middle.
    assert frame_point(Click(500, 375, 1000, 750), (768, 576)) == (384.0, 288.0)
    assert frame_point(Click(250, 600, 1000, 750), (768, 576)) == (192.0, 461.0)
    # Shown smaller than the frame, and a click on the border rounding past it stays inside.
    assert frame_point(Click(100, 75, 200, 150), (768, 576)) == (384.0, 288.0)
    assert frame_point(Click(200.4, 150.4, 200, 150), (768, 576)) == (768.0, 576.0)
    with pytest.raises(ValueError, match="shown 0"):
        frame_point(Click(1, 1, 0, 0), (768, 576))


def test_adding_and_deleting_a_polygon_keeps_every_other_setting() -> None:
    body = with_polygon(SETTINGS, "privacy", [(1.0, 2.0), (30.0, 2.0), (30.0, 40.0)], "")
    assert body["masks"]["privacy"] == [[[1.0, 2.0], [30.0, 2.0], [30.0, 40.0]]]
    assert {k: v for k, v in body.items() if k != "masks"} == {
        k: v for k, v in SETTINGS.items() if k != "masks"
    }
    assert body["masks"]["motion"] == SETTINGS["masks"]["motion"]  # type: ignore[index]
    assert SETTINGS["masks"]["privacy"] == []  # type: ignore[index]  # the input is not changed
    zoned = with_polygon(body, "zone", [(5.0, 5.0), (50.0, 5.0), (50.0, 50.0)], " gate ")
    assert zoned["zones"][-1] == {"name": "gate", "points": [[5.0, 5.0], [50.0, 5.0], [50.0, 50.0]]}
    labels = [shape.label for shape in shapes(zoned)]
    assert labels == ["zone path", "zone gate", "motion mask 1", "privacy mask 1"]
    (motion,) = [shape for shape in shapes(zoned) if shape.kind == "motion"]
    left = without(zoned, motion)
    assert left["masks"] == {"motion": [], "privacy": body["masks"]["privacy"]}
    assert left["zones"] == zoned["zones"]
    # Settings without masks at all (an older edge): the new mask makes them.
    bare = {k: v for k, v in SETTINGS.items() if k != "masks"}
    assert with_polygon(bare, "motion", [(0, 0), (1, 0), (1, 1)], "")["masks"] == {
        "motion": [[[0, 0], [1, 0], [1, 1]]]
    }


def test_the_overlay_tints_masks_and_marks_the_corners_drawn() -> None:
    (frame,) = vtest_frames(0, 1)
    square = [(100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)]
    layers = [Layer([("motion mask 1", square)], MOTION_COLOUR, filled=True)]
    shown = decode(draw(frame, layers, [(500.0, 400.0), (600.0, 400.0)]))
    assert shown.shape == frame.shape
    inside = (slice(150, 250), slice(150, 250))
    tint = shown[inside].astype(float) - frame[inside].astype(float)
    # Orange (BGR 0, 200, 255) over the grey scene: red and green up, blue down.
    assert tint[..., 2].mean() > 15 and tint[..., 0].mean() < -5
    outside = (slice(450, 550), slice(100, 300))
    assert np.abs(shown[outside].astype(float) - frame[outside].astype(float)).mean() < 4
    # The drawn corners are red dots.
    b, g, r = shown[400, 500]
    assert r > 200 and g < 120 and b < 120, (b, g, r, DRAFT_COLOUR)
