"""The UI's pages (streamlit.testing AppTest) against a real edge box fed real vtest frames."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from tests.edge_process import EdgeProcess, stats
from tests.live_edge import fed_edge
from tests.plan_status import planned_status
from ui.config import CONFIG_ENV

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
CAMERA, IDLE = "door", "yard"
ZONE = {"name": "path", "points": [[0, 0], [768, 0], [768, 576], [0, 576]]}
PLAN = planned_status(mbps=20.0)
"""The Edgent plan report the fed camera sends with every frame (the idle one runs none)."""


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    with fed_edge(tmp_path_factory.mktemp("ui"), CAMERA, IDLE, ZONE, 30, PLAN) as box:
        yield box


@pytest.fixture
def app(edge: EdgeProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    config = {"edge_url": edge.base_url, "api_token": "${TEST_UI_TOKEN}", "refresh_s": 60}
    path = tmp_path / "ui.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    monkeypatch.setenv("TEST_UI_TOKEN", edge.api_token or "")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    yield app


def api(edge: EdgeProcess, path: str) -> Any:
    with httpx.Client(base_url=edge.base_url, timeout=30) as client:
        response = client.get(path, headers=edge.read_headers())
        assert response.status_code == 200, response.text
        return response.json()


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def number_input(app: AppTest, label: str) -> Any:
    (found,) = [n for n in app.number_input if n.label.startswith(label)]
    return found


def go(app: AppTest, page: str) -> None:
    app.sidebar.radio(key="page").set_value(page).run()
    assert not app.exception, app.exception


def test_overview_shows_the_edges_numbers(app: AppTest, edge: EdgeProcess) -> None:
    with httpx.Client(base_url=edge.base_url) as client:
        now = stats(client, edge)
    shown = metrics(app)
    assert shown["Cameras"] == "2"
    assert shown["Frames sent"] == "30"
    assert shown["Frames read by cameras"] == "59"  # every second frame was sent
    assert shown["Sent of input"] == "50.8%"
    assert shown["Detector calls"] == str(now["edge"]["detector_calls"])
    assert shown["Events"] == str(now["store"]["events"])
    table = app.table[0].value
    assert list(table.index) == [CAMERA, IDLE]
    assert table.loc[CAMERA, "frames sent"] == "30"
    assert table.loc[CAMERA, "sent of input"] == "50.8%"
    assert table.loc[CAMERA, "sent because"] == "changed 100%"  # posted naming no reason
    assert table.loc[IDLE, "sent because"] == "\N{EN DASH}"
    assert table.loc[IDLE, "state"] == "no report"
    exits = now["edge"]["cameras"][CAMERA]["exits"]
    assert table.loc[CAMERA, "exits cache/regions/full/split"] == (
        f"{exits['cache']}/{exits['regions']}/{exits['full']}/{exits['split']}"
    )


def test_events_page_filters_and_shows_snapshots(app: AppTest, edge: EdgeProcess) -> None:
    go(app, "Events")
    events = api(edge, "/api/v1/events")
    assert events, "the vtest frames should have made events"
    assert metrics(app)["Events shown"] == str(len(events))
    table = app.dataframe[0].value
    assert set(table["camera"]) == {CAMERA}
    assert set(table["zones"]) == {"path"}
    snapshots = [e for e in events if e["snapshot"]]
    assert len(app.get("image")) == min(len(snapshots), 8)
    app.selectbox(key="events_camera").set_value(IDLE).run()
    assert metrics(app)["Events shown"] == "0"
    app.selectbox(key="events_camera").set_value("all").run()
    app.text_input(key="events_zone").set_value("elsewhere").run()
    assert metrics(app)["Events shown"] == "0"


def test_camera_page_shows_the_settings_in_force(app: AppTest, edge: EdgeProcess) -> None:
    go(app, "Camera")
    view = api(edge, f"/api/v1/cameras/{CAMERA}/settings")
    shown = metrics(app)
    threshold = f"{view['in_force']['difference_threshold']:,.4f}"
    assert shown["Difference threshold (adaptive)"] == threshold
    control = view["in_force"]
    assert f"Query: events (target {control['accuracy_target']:.2f})" in shown
    assert shown["Changed frames skipped"] == f"{control['skip_share']:,.2f}"
    # The frames were posted by hand, saying nothing of where the tracked people went.
    assert control["follows_boxes"] is False and shown["Follows tracked objects"] == "no"
    assert shown["Uplink budget"] == "unlimited"
    assert shown["Zones"] == "1"
    assert len(app.get("image")) == 1  # the latest annotated frame


def test_camera_page_edits_go_through_the_api(app: AppTest, edge: EdgeProcess) -> None:
    # Masks set through the API (not on the form) are kept when the form saves.
    masks = {"motion": [], "privacy": [[[0, 0], [100, 0], [100, 80]]]}
    put = httpx.put(
        f"{edge.base_url}/api/v1/cameras/{IDLE}/settings",
        json={"masks": masks},
        headers=edge.read_headers(),
    )
    assert put.status_code == 200, put.text
    go(app, "Camera")
    app.selectbox(key="camera_id").set_value(IDLE).run()
    app.text_area[0].set_value(json.dumps([{"name": "bad", "points": [[0, 0]]}]))
    app.button[0].click().run()  # the form's submit button
    assert any("zones.0.points" in e.value for e in app.error), [e.value for e in app.error]
    assert api(edge, f"/api/v1/cameras/{IDLE}/settings")["settings"]["zones"] == []

    (query,) = [box for box in app.selectbox if box.label.startswith("Query")]
    query.set_value("counts")
    number_input(app, "Accuracy target").set_value(0.8)
    app.text_area[0].set_value(json.dumps([ZONE]))
    app.button[0].click().run()
    assert not app.error, [e.value for e in app.error]
    view = api(edge, f"/api/v1/cameras/{IDLE}/settings")
    assert view["settings"]["query"] == "counts" and view["settings"]["accuracy_target"] == 0.8
    assert "Query: counts (target 0.80)" in metrics(app)

    app.checkbox[0].uncheck()
    number_input(app, "Fixed difference threshold").set_value(0.05)
    number_input(app, "Fixed uplink budget").set_value(20000.0)
    app.button[0].click().run()
    assert not app.error, [e.value for e in app.error]
    assert any("Saved" in s.value for s in app.success)
    settings = api(edge, f"/api/v1/cameras/{IDLE}/settings")["settings"]
    assert settings == {
        "difference_threshold": 0.05,
        "query": "counts",
        "accuracy_target": 0.8,
        "zones": [ZONE],
        "budget_bytes_per_s": 20000,
        "masks": masks,
    }
    assert metrics(app)["Difference threshold (fixed)"] == "0.0500"
    assert metrics(app)["Uplink budget"] == "20.0 kB/s"


def test_overview_shows_each_cameras_plan(app: AppTest, edge: EdgeProcess) -> None:
    (row,) = [c for c in api(edge, "/api/v1/stats")["cameras"] if c["id"] == CAMERA]
    plan = row["plan"]["plan"]
    assert plan["exit"] == PLAN["plan"]["exit"] and plan["meets"]
    at = plan["cut_label"] if plan["cut_label"] in ("edge-only", "device-only") else plan["cut"]
    table = app.table[0].value
    assert table.loc[CAMERA, "plan"] == f"{plan['exit']}@{at}"
    assert table.loc[IDLE, "plan"] == "\N{EN DASH}"


def test_camera_page_shows_the_plan_in_force(app: AppTest, edge: EdgeProcess) -> None:
    go(app, "Camera")
    (row,) = [c for c in api(edge, "/api/v1/stats")["cameras"] if c["id"] == CAMERA]
    report, plan = row["plan"], row["plan"]["plan"]
    shown = metrics(app)
    assert shown["Exit"] == plan["exit"]
    assert shown["Exit accuracy (F1)"] == f"{plan['accuracy']:.3f}"
    assert shown["Partition"] == plan["cut_label"]
    assert shown["Meets requirement"] == ("yes" if plan["meets"] else "no")
    for part in ("device", "transfer", "edge", "total"):
        assert shown[f"Predicted {part}"] == f"{plan[f'{part}_ms']:,.1f} ms"
    assert shown["Requirement"] == f"{report['deadline_ms']:,.1f} ms"
    assert shown["Bandwidth (measured)"] == f"{report['bandwidth_mbps']:,.2f} Mbit/s"
    assert shown["Plan switches"] == str(report["switches"])
    assert shown["Frames within the requirement"] == "66.7%"  # as the camera measured them
    assert shown["Frames timed"] == "3"
    assert shown["Last frame took"] == f"{report['last_ms']:,.1f} ms"
    assert any(f"Why: {report['reason']}" in c.value for c in app.caption)

    app.selectbox(key="camera_id").set_value(IDLE).run()
    assert "Exit" not in metrics(app)
    assert any("runs no split model" in c.value for c in app.caption)
