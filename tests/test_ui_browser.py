"""End to end in a real browser: Debian's chromium (Playwright) on `appliance ui`, reading a real
`appliance edge` that a real camera node feeds vtest.avi in real time. The pages must show what
the API says, the live view must play; with APPLIANCE_UPDATE_SCREENSHOTS=1 the screenshots
replace docs/screenshots/ (README)."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page, sync_playwright

from appliance.edge.server import free_port
from tests.edge_process import PROJECT_ROOT, EdgeProcess, appliance_command, running_edge
from tests.footage import vtest_path
from tests.live_edge import wait_for
from tests.ui_process import UiProcess, running_ui

CAMERA = "demo"
CHROMIUM = "/usr/bin/chromium"
README_SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
ZONE = {"name": "crossing", "points": [[0, 330], [768, 330], [768, 576], [0, 576]]}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages are photographed: the README's pictures only when asked for
    (APPLIANCE_UPDATE_SCREENSHOTS=1), so that a test run leaves the working tree as it was."""
    if os.environ.get("APPLIANCE_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def ui_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, ui_port: int) -> Iterator[EdgeProcess]:
    token = "demo-" + secrets.token_hex(8)
    cameras = [{"id": CAMERA, "name": "vtest.avi", "token": token, "zones": [ZONE]}]
    # The UI's page plays the live view from the browser: the edge allows the UI's origin.
    access = {"cors_origins": [f"http://127.0.0.1:{ui_port}"]}
    work = tmp_path_factory.mktemp("e2e")
    with running_edge(
        work,
        {CAMERA: token},
        api_token="api-" + secrets.token_hex(8),
        extra={"cameras": cameras, "access": access},
    ) as box:
        yield box


@pytest.fixture(scope="module")
def camera_node(edge: EdgeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The demo camera: a camera node replaying vtest.avi at its own 10 fps."""
    work = tmp_path_factory.mktemp("camera")
    config = {
        "id": CAMERA,
        "source": str(vtest_path()),
        "edge_url": edge.base_url,
        "token": edge.tokens[CAMERA],
        "realtime": True,
    }
    path = work / "camera.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with (work / "camera.output").open("wb") as out:
        node = subprocess.Popen(
            [*appliance_command(), "--log-level", "WARNING", "camera", "--config", str(path)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        node.terminate()
        node.wait(timeout=15)


@pytest.fixture(scope="module")
def ui(
    edge: EdgeProcess, camera_node: None, tmp_path_factory: pytest.TempPathFactory, ui_port: int
) -> Iterator[UiProcess]:
    with running_ui(tmp_path_factory.mktemp("ui"), edge, port=ui_port) as process:
        yield process


@pytest.fixture(scope="module")
def page(ui: UiProcess) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1900})
        yield context.new_page()
        browser.close()


def api(edge: EdgeProcess, path: str) -> Any:
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        response = client.get(path, headers=edge.read_headers())
        assert response.status_code == 200, response.text
        return response.json()


def number(text: str) -> float:
    return float(text.replace(",", "").split()[0].rstrip("%"))


def open_page(page: Page, ui: UiProcess, name: str, label: str) -> None:
    """Load a page and wait until Streamlit finished running it and `label` shows a value."""
    page.goto(f"{ui.url}/?page={name}")
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
    wait_for(lambda: label in metrics(page), 60, f"metric {label!r}")
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def metrics(page: Page) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')]
            .map((m) => [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                         m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
    )
    return found


def settled_metrics(page: Page) -> dict[str, str] | None:
    """The metrics once a refresh has finished drawing them: Streamlit redraws a page element
    by element, so one read mid-refresh can mix new values with old ones (seen: a new frame
    count beside an old detector-call count). Two reads 0.5 s apart that agree are settled."""
    first = metrics(page)
    page.wait_for_timeout(500)
    return first if first and metrics(page) == first else None


def test_overview_shows_live_values_that_match_the_api(
    page: Page, ui: UiProcess, edge: EdgeProcess, screenshots: Path
) -> None:
    wait_for(
        lambda: api(edge, "/api/v1/stats")["store"]["events"] > 0,
        90,
        "the demo camera's first event",
    )
    open_page(page, ui, "Overview", "Frames sent")
    # The page refreshes every 2 s while the camera keeps sending: a value it shows must lie
    # between what the API said before that refresh and what it says after. Only more frames
    # than `before` counted prove the refresh came after it (an equal count can be an older
    # refresh, before analyses that `before` already counted).
    before = api(edge, "/api/v1/stats")
    shown = wait_for(
        lambda: (
            (m := settled_metrics(page))
            and number(m["Frames sent"]) > before["edge"]["frames_received"]
            and m
        ),
        30,
        "the page to refresh",
    )
    after = api(edge, "/api/v1/stats")
    assert shown["Cameras"] == "1"
    assert number(shown["Frames sent"]) <= after["edge"]["frames_received"]
    read = number(shown["Frames read by cameras"])
    assert before["inputs"][CAMERA]["frames_read"] <= read <= after["inputs"][CAMERA]["frames_read"]
    detector_calls = number(shown["Detector calls"])
    assert before["edge"]["detector_calls"] <= detector_calls <= after["edge"]["detector_calls"]
    assert 0 < number(shown["Sent of input"]) <= 100
    assert number(shown["Events"]) <= after["store"]["events"]
    state = page.locator('[data-testid="stTable"] tbody tr').first.inner_text()
    assert CAMERA in state and after["cameras"][0]["state"] in state
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    wait_for(lambda: charts.count() >= 3, 30, "the charts over time")
    # A few refreshes later the charts over time have lines, not single points.
    later = number(shown["Frames sent"]) + 25
    wait_for(lambda: number(metrics(page)["Frames sent"]) >= later, 30, "a few refreshes")
    page.screenshot(path=str(screenshots / "overview.png"), full_page=True)


def test_events_page_lists_the_apis_events_with_snapshots(
    page: Page, ui: UiProcess, edge: EdgeProcess, screenshots: Path
) -> None:
    before = len(api(edge, "/api/v1/events?limit=100"))
    open_page(page, ui, "Events", "Events shown")
    after = len(api(edge, "/api/v1/events?limit=100"))
    assert before <= number(metrics(page)["Events shown"]) <= after
    snapshots = page.locator('[data-testid="stImage"] img')
    wait_for(lambda: snapshots.count() > 0, 30, "snapshots")
    wait_for(
        lambda: snapshots.first.evaluate("(img) => img.complete && img.naturalWidth > 0"),
        30,
        "a snapshot to load",
    )
    page.screenshot(path=str(screenshots / "events.png"), full_page=True)


def player(page: Page) -> Frame:
    def find() -> Frame | None:
        for frame in page.frames:
            try:
                if frame != page.main_frame and frame.query_selector("video") is not None:
                    return frame
            except PlaywrightError:  # a frame replaced while we looked
                continue
        return None

    found: Frame = wait_for(find, 60, "the live view player")
    return found


def playback(frame: Frame) -> dict[str, Any]:
    result: dict[str, Any] = frame.evaluate(
        """() => { const v = document.querySelector('video');
            const state = document.getElementById('status').dataset.state;
            return {time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames,
                    width: v.videoWidth, state: state}; }"""
    )
    return result


def test_camera_page_plays_the_live_view_over_webrtc(
    page: Page, ui: UiProcess, edge: EdgeProcess, screenshots: Path
) -> None:
    open_page(page, ui, "Camera", "Uplink budget")
    view = api(edge, f"/api/v1/cameras/{CAMERA}/settings")
    shown = metrics(page)
    assert shown["Zones"] == "1" and shown["Uplink budget"] == "unlimited"
    assert "Difference threshold (adaptive)" in shown and view["in_force"]["adaptive"]
    frame = player(page)
    first = wait_for(
        lambda: (p := playback(frame))["state"] == "webrtc" and p["frames"] > 0 and p, 60, "video"
    )
    assert first["width"] == 768
    wait_for(lambda: playback(frame)["time"] > first["time"] + 1, 30, "the video to advance")
    assert number(shown["Zones"]) == len(view["settings"]["zones"])
    page.wait_for_selector('[data-testid="stImage"] img', timeout=30_000)
    page.screenshot(path=str(screenshots / "camera.png"), full_page=True)


def test_camera_page_falls_back_to_mjpeg(page: Page, ui: UiProcess) -> None:
    open_page(page, ui, "Camera", "Uplink budget")
    page.get_by_text("MJPEG instead of WebRTC").click()

    def mjpeg_playing() -> bool:
        for frame in page.frames:
            try:
                width = frame.evaluate(
                    """() => { const s = document.getElementById('status');
                        const img = document.getElementById('mjpeg');
                        return s && img && s.dataset.state === 'mjpeg' && img.naturalWidth; }"""
                )
            except PlaywrightError:  # a frame replaced while we looked
                continue
            if width == 768:
                return True
        return False

    wait_for(mjpeg_playing, 60, "the MJPEG fallback to show the camera")


def test_ui_stops_cleanly_and_never_shows_the_token(ui: UiProcess, edge: EdgeProcess) -> None:
    assert ui.stop() == 0
    assert edge.api_token and edge.api_token not in ui.output
    assert edge.api_token not in edge.output
