"""Drawing zones and masks on the camera page, in a real browser: Debian's chromium (Playwright)
on `appliance ui`, reading a real `appliance edge` fed real vtest frames. Clicks on the shown
(scaled) picture must reach the edge's settings as frame pixels; a refused polygon must show the
edge's reason and store nothing."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.edge_process import PROJECT_ROOT, EdgeProcess
from tests.footage import vtest_frames
from tests.live_edge import FRAME_HEIGHT, FRAME_WIDTH, fed_edge, wait_for
from tests.ui_process import UiProcess, running_ui
from ui.overlay import FILL_ALPHA, PRIVACY_COLOUR

CAMERA, IDLE = "door", "yard"
FED = 3
"""vtest frames fed to the camera: the picture drawn on is the last of them."""
CHROMIUM = "/usr/bin/chromium"
VIEWER_TOKEN = "viewer-" + secrets.token_hex(8)
ZONE = {"name": "path", "points": [[0, 0], [768, 0], [768, 200], [0, 200]]}
PIXEL_TOLERANCE = 3.0
"""Frame pixels a stored corner may lie from where the test clicked (the page scales the
picture, the browser reports whole CSS pixels)."""


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the editor is photographed: docs/screenshots/ only when asked for
    (APPLIANCE_UPDATE_SCREENSHOTS=1), so that a test run leaves the working tree as it was."""
    if os.environ.get("APPLIANCE_UPDATE_SCREENSHOTS") == "1":
        return PROJECT_ROOT / "docs" / "screenshots"
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    access = {"access": {"viewer_token": VIEWER_TOKEN}}
    with fed_edge(tmp_path_factory.mktemp("draw"), CAMERA, IDLE, ZONE, FED, extra=access) as box:
        yield box


@pytest.fixture(scope="module")
def page(edge: EdgeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with (
        running_ui(tmp_path_factory.mktemp("ui"), edge, refresh_s=60) as ui,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = browser.new_context(viewport={"width": 1300, "height": 1600}).new_page()
        open_camera(page, ui)
        yield page
        browser.close()


def open_camera(page: Page, ui: UiProcess) -> None:
    page.goto(f"{ui.url}/?page=Camera&camera={CAMERA}")
    picture(page).wait_for(timeout=60_000)


def settings(edge: EdgeProcess) -> dict[str, Any]:
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        response = client.get(f"/api/v1/cameras/{CAMERA}/settings", headers=edge.read_headers())
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["settings"]
    return found


def picture(page: Page) -> Locator:
    return page.locator("img.clickable-picture")


def settle(page: Page) -> None:
    """Wait until Streamlit finished running the page (its running indicator gone)."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)


def corners(page: Page) -> int:
    return int(picture(page).get_attribute("data-corners") or -1)


def choose(page: Page, kind: str) -> None:
    settle(page)
    page.locator('[data-testid="stRadio"] label').filter(has_text=kind).click()
    wait_for(lambda: page.get_by_role("button", name=f"Save {kind.lower()}").count(), 30, kind)


def draw(page: Page, fractions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Click the picture at these fractions of its shown size, waiting for each corner to be
    drawn; where they lie in frame pixels."""
    wait_for(lambda: corners(page) == 0, 30, "an empty drawing")
    settle(page)
    for count, (fx, fy) in enumerate(fractions, start=1):
        box = picture(page).bounding_box()
        assert box is not None and box["width"] < FRAME_WIDTH * 2
        picture(page).click(position={"x": fx * box["width"], "y": fy * box["height"]})
        wait_for(lambda n=count: corners(page) == n, 30, f"corner {count} to be drawn")  # type: ignore[misc]
    return [(fx * FRAME_WIDTH, fy * FRAME_HEIGHT) for fx, fy in fractions]


def assert_near(stored: list[list[float]], clicked: list[tuple[float, float]]) -> None:
    assert len(stored) == len(clicked), stored
    for (x, y), (cx, cy) in zip(stored, clicked, strict=True):
        assert abs(x - cx) <= PIXEL_TOLERANCE and abs(y - cy) <= PIXEL_TOLERANCE, (stored, clicked)


def decoded(jpeg: bytes) -> np.ndarray[Any, np.dtype[np.float64]]:
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image, dtype=np.float64)


def shown_picture(page: Page) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The picture the editor shows now (its data URL), decoded."""
    src = picture(page).get_attribute("src") or ""
    return decoded(base64.b64decode(src.partition(",")[2]))


def photograph_editor(page: Page, path: Path) -> None:
    """The editor, from its heading to the row of buttons under the picture."""
    heading = page.get_by_role("heading", name="Draw zones and masks")
    heading.scroll_into_view_if_needed()
    top, bottom = heading.bounding_box(), page.get_by_text("corners drawn.").bounding_box()
    assert top is not None and bottom is not None
    x, y = top["x"] - 12, top["y"] - 8
    clip = {"x": x, "y": y, "width": 880.0, "height": bottom["y"] + bottom["height"] + 12 - y}
    page.screenshot(path=str(path), clip=clip)  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_edge_serves_its_picture_with_nothing_drawn(edge: EdgeProcess) -> None:
    (last,) = vtest_frames(FED - 1, 1)
    path, plain = f"/api/v1/cameras/{CAMERA}/frame.jpg", {"annotated": "false"}
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        pictures = [
            client.get(path, params=plain, headers=edge.read_headers()),
            client.get(path, headers=edge.read_headers()),
        ]
        as_viewer = client.get(path, params=plain, headers=bearer(VIEWER_TOKEN))
    # Unannotated only for those who may draw on it (viewers may get redacted pictures).
    assert as_viewer.status_code == 403 and "api_token" in as_viewer.text
    assert [p.status_code for p in pictures] == [200, 200]
    # The zone's lower edge (y=200) is drawn on the annotated picture only.
    band = (slice(195, 205), slice(100, 700))
    errors = [np.abs(decoded(p.content)[band] - last[band].astype(float)).mean() for p in pictures]
    assert errors[0] < 12 < errors[1], errors


def test_a_drawn_privacy_mask_is_stored_in_frame_pixels_and_shown(
    page: Page, edge: EdgeProcess
) -> None:
    choose(page, "Privacy mask")
    clicked = draw(page, [(0.55, 0.5), (0.9, 0.5), (0.9, 0.9), (0.55, 0.9)])
    page.get_by_role("button", name="Save privacy mask").click()
    stored = wait_for(lambda: settings(edge)["masks"]["privacy"], 30, "the stored mask")
    assert_near(stored[0], clicked)
    page.get_by_text("Saved the privacy mask").wait_for(timeout=30_000)
    # Everything else kept: the zone the YAML gave the camera.
    assert settings(edge)["zones"] == [ZONE]
    # The mask shows on the picture: its inside is tinted with the privacy colour.
    (raw,) = vtest_frames(FED - 1, 1)
    patch = (slice(400, 480), slice(480, 640))
    expected = (1 - FILL_ALPHA) * raw[patch].astype(float) + FILL_ALPHA * np.array(PRIVACY_COLOUR)
    wait_for(
        lambda: np.abs(shown_picture(page)[patch] - expected).mean() < 10, 30, "the mask drawn"
    )


def test_a_drawn_zone_is_stored_with_its_name(
    page: Page, edge: EdgeProcess, screenshots: Path
) -> None:
    choose(page, "Zone")
    page.get_by_label("Zone name").fill("doorstep")
    page.get_by_label("Zone name").press("Enter")
    clicked = draw(page, [(0.1, 0.6), (0.4, 0.6), (0.25, 0.95)])
    photograph_editor(page, screenshots / "draw.png")
    page.get_by_role("button", name="Save zone").click()
    wait_for(lambda: len(settings(edge)["zones"]) == 2, 30, "the stored zone")
    zones = {zone["name"]: zone["points"] for zone in settings(edge)["zones"]}
    assert_near(zones["doorstep"], clicked)
    assert len(settings(edge)["masks"]["privacy"]) == 1


def test_a_two_corner_mask_is_refused_with_the_edges_reason(page: Page, edge: EdgeProcess) -> None:
    choose(page, "Motion mask")
    draw(page, [(0.2, 0.2), (0.3, 0.3)])
    page.get_by_role("button", name="Save motion mask").click()
    error = page.locator('[data-testid="stAlert"]').filter(has_text="Not saved")
    error.wait_for(timeout=30_000)
    # The edge's own words (cameras/config_checks.py), as its 422 says them.
    refusal = "masks.motion.0: List should have at least 3 items after validation, not 2 (422)"
    assert refusal in error.inner_text()
    assert settings(edge)["masks"]["motion"] == []
    assert corners(page) == 2  # kept, to be fixed
    page.get_by_role("button", name="Undo last corner").click()
    wait_for(lambda: corners(page) == 1, 30, "the last corner undone")
    settle(page)
    page.get_by_role("button", name="Clear").click()
    wait_for(lambda: corners(page) == 0, 30, "the drawing cleared")


def test_an_existing_zone_is_deleted(page: Page, edge: EdgeProcess) -> None:
    existing = page.locator('[data-testid="stSelectbox"]').filter(has_text="Existing zones")
    option = page.get_by_role("option", name="zone path")

    def pick() -> bool:
        # A rerun still drawing the page can close the list as it opens: open it again.
        settle(page)
        existing.click()
        try:
            option.click(timeout=3_000)
        except PlaywrightTimeoutError:
            return False
        return True

    wait_for(pick, 30, "zone path picked")
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_for(lambda: len(settings(edge)["zones"]) == 1, 30, "the zone deleted")
    assert [zone["name"] for zone in settings(edge)["zones"]] == ["doorstep"]
