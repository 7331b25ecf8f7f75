"""The UI's password: with one set, a session sees only the sign-in form (and the UI asks the
edge nothing) until the password is given; a UI serving the network must have one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

from tests.edge_process import EdgeProcess, running_edge
from ui.config import CONFIG_ENV, UiConfig

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    work = tmp_path_factory.mktemp("edge")
    with running_edge(work, {"door": "door-token-123"}, api_token="api-token-5678") as box:
        yield box


@pytest.fixture
def app(edge: EdgeProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    config = {
        "edge_url": edge.base_url,
        "api_token": "${TEST_UI_TOKEN}",
        "password": "${TEST_UI_PASSWORD}",
    }
    path = tmp_path / "ui.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    monkeypatch.setenv("TEST_UI_TOKEN", edge.api_token or "")
    monkeypatch.setenv("TEST_UI_PASSWORD", PASSWORD)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def test_nothing_shows_before_the_password(app: AppTest) -> None:
    assert [t.label for t in app.text_input] == ["Password"]
    assert not app.metric and not app.sidebar.radio  # no page, no number of the edge's
    app.text_input[0].input("guess-1234")
    app.button[0].click().run()
    assert [e.value for e in app.error] == ["Wrong password."]
    assert not app.metric


def test_the_password_opens_the_pages_and_sign_out_closes_them(app: AppTest) -> None:
    app.text_input[0].input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert {m.label: m.value for m in app.metric}["Cameras"] == "1"
    (sign_out,) = [b for b in app.sidebar.button if b.label == "Sign out"]
    sign_out.click().run()
    assert [t.label for t in app.text_input] == ["Password"] and not app.metric


def test_a_ui_serving_the_network_needs_a_password() -> None:
    with pytest.raises(ValidationError, match=r"host 0\.0\.0\.0 serves the network: set password"):
        UiConfig(host="0.0.0.0")
    assert UiConfig(host="0.0.0.0", password=PASSWORD).password is not None
