"""`appliance demo --ui` as a user runs it: a real process that prints the UI's address, which
Debian's chromium (Playwright) opens to find both sample cameras with events; its progress bar
shows on the terminal (stderr, here a pty) and never in stdout; Ctrl-C (SIGINT) stops it with
status 0, leaving no process and no listening port behind."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, sync_playwright

from appliance.edge.server import free_port
from tests.edge_process import PROJECT_ROOT, appliance_command
from tests.live_edge import wait_for

CHROMIUM = "/usr/bin/chromium"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "demo.png"
CAMERAS = ("vtest", "bikes")
UI_LINE = re.compile(r"^Demo UI: (http://127\.0\.0\.1:(\d+))$")
EDGE_LINE = re.compile(r"edge API\s+http://127\.0\.0\.1:(\d+)")


@dataclass
class DemoRun:
    process: subprocess.Popen[bytes]
    stdout: list[str] = field(default_factory=list)
    terminal: bytearray = field(default_factory=bytearray)
    """What the demo wrote to its stderr, a pseudo-terminal as in an interactive shell."""

    def line(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return next((m for line in list(self.stdout) if (m := pattern.search(line))), None)

    @property
    def url(self) -> str:
        found = self.line(UI_LINE)
        assert found is not None
        return found.group(1)

    def ports(self) -> list[int]:
        ui, edge = self.line(UI_LINE), self.line(EDGE_LINE)
        assert ui is not None and edge is not None, self.stdout
        return [int(ui.group(2)), int(edge.group(1))]


def _read_lines(process: subprocess.Popen[bytes], into: list[str]) -> None:
    assert process.stdout is not None
    for raw in process.stdout:
        into.append(raw.decode(errors="replace").rstrip("\n"))


def _read_terminal(master: int, into: bytearray) -> None:
    # Drained all along: a full pty would block the demo's progress bar, and the demo with it.
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the last writer closed the terminal
            break
        if not chunk:
            break
        into.extend(chunk)
    os.close(master)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    data_dir = tmp_path_factory.mktemp("demo-ui")
    master, terminal = pty.openpty()
    # A terminal has a size: tqdm draws nothing in a zero-width one.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    command = [*appliance_command(), "--log-level", "WARNING", "demo", "--ui"]
    command += ["--data-dir", str(data_dir), "--ui-port", str(free_port())]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "HOME": str(data_dir)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    run = DemoRun(process)
    readers = [
        threading.Thread(target=_read_lines, args=(process, run.stdout), daemon=True),
        threading.Thread(target=_read_terminal, args=(master, run.terminal), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        wait_for(
            lambda: run.line(UI_LINE) or process.poll() is not None, 180, "the printed address"
        )
        assert process.poll() is None, f"the demo exited:\n{run.terminal.decode(errors='replace')}"
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo's overview is photographed: the README's picture only when asked for
    (APPLIANCE_UPDATE_SCREENSHOTS=1), so that a test run leaves the working tree as it was."""
    if os.environ.get("APPLIANCE_UPDATE_SCREENSHOTS") == "1":
        return README_SCREENSHOT
    return tmp_path_factory.mktemp("screenshots") / "demo.png"


@pytest.fixture(scope="module")
def page(demo: DemoRun) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
        browser.close()


def camera_events(page: Page, url: str, camera: str) -> tuple[int, list[str]]:
    """The Events page filtered to `camera`, as a user picks it: the number of events shown
    and the captions of the snapshots shown (camera · label #track · time)."""
    page.goto(f"{url}/?page=Events")
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
    picker = page.get_by_role("combobox", name="Camera")
    picker.click()
    page.get_by_role("option", name=camera, exact=True).click()
    wait_for(lambda: picker.input_value() == camera, 30, f"camera {camera} to be picked")
    captions = page.locator('[data-testid="stImage"] [data-testid="stCaptionContainer"]')
    none = page.get_by_text("No events match these filters.")

    def filtered() -> tuple[int, list[str]] | None:
        if none.count() > 0:
            return 0, []
        shown = [c.strip() for c in captions.all_inner_texts()]
        if shown and all(c.startswith(f"{camera} · ") for c in shown):
            count = page.locator('[data-testid="stMetricValue"]').first.inner_text()
            return int(count.replace(",", "")), shown
        return None  # the page still shows what it showed before the pick

    found: tuple[int, list[str]] = wait_for(filtered, 60, f"the events of {camera}")
    return found


def with_events(page: Page, url: str, camera: str) -> tuple[int, list[str]] | None:
    """`camera_events` once the camera has events, else None (the page is loaded again)."""
    found = camera_events(page, url, camera)
    return found if found[0] > 0 else None


def changed(locator: Locator, before: str) -> bool:
    return locator.inner_text() != before


def test_the_browser_finds_both_cameras_with_events(
    demo: DemoRun, page: Page, screenshot: Path
) -> None:
    page.goto(f"{demo.url}/?page=Overview")
    table = page.locator('[data-testid="stTable"] tbody')
    wait_for(lambda: table.count() > 0, 60, "the cameras table")
    rows = table.first.inner_text()
    assert all(camera in rows for camera in CAMERAS), rows
    for camera in CAMERAS:
        shown, captions = wait_for(partial(with_events, page, demo.url, camera), 120, camera)
        assert shown >= len(captions) > 0
    page.goto(f"{demo.url}/?page=Overview")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    wait_for(lambda: charts.count() >= 3, 60, "the overview's charts")
    # A few refreshes (2 s each) later the charts over time have lines, not single points.
    frames_sent = page.locator('[data-testid="stMetric"]').filter(has_text="Frames sent")
    for _ in range(3):
        before = frames_sent.inner_text()
        wait_for(partial(changed, frames_sent, before), 30, "the overview's refresh")
    page.screenshot(path=str(screenshot), full_page=True)


def test_progress_goes_to_the_terminal_not_to_stdout(demo: DemoRun) -> None:
    bar = re.compile(rb"demo: (\d+)frame \[[^]\r\n]*frame/s, sent=(\d+)\]")
    wait_for(lambda: len(bar.findall(bytes(demo.terminal))) >= 2, 30, "the progress bar")
    read, sent = (int(n) for n in bar.findall(bytes(demo.terminal))[-1])
    assert 0 < sent < read
    assert not any("frame/s" in line for line in demo.stdout)


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended while we looked
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_stops_every_process_it_started(demo: DemoRun) -> None:
    children = _descendants(demo.process.pid)
    assert children, "the UI runs as a child process"
    ports = demo.ports()
    assert all(_listening(port) for port in ports)
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=60) == 0, demo.terminal.decode(errors="replace")
    left = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert left == [], f"still running after the demo exited: {left}"
    assert not any(_listening(port) for port in ports)
