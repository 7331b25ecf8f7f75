"""The camera page's polygon editor: pick a zone (named), a motion mask or a privacy mask, click
its corners on the camera's latest picture, watch it drawn as you click, undo or clear, and save
it through the settings API (every other setting kept); delete an existing one the same way.

The picture is the edge's latest analysed frame with nothing drawn on it, fetched once and kept
while drawing ("New picture" fetches another); the zones, masks and the polygon being drawn are
painted on it here (ui/overlay.py) at every click, so it shows what the edge stores."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import streamlit as st

from ui import overlay
from ui.client import EdgeClient, EdgeError
from ui.picture_clicks import clickable_picture, last_click
from ui.polygons import KIND_NAMES, Kind, Point, Shape, shapes, with_polygon, without

Settings = dict[str, Any]
NOTICE_KEY = "polygon_saved"
LEGEND = (
    "Click the corners in order (3 to 64). Zones: blue outline; motion masks: orange; privacy"
    " masks: purple (the camera paints them black before sending); red: the polygon you draw."
)


def render(client: EdgeClient, camera: str) -> None:
    st.subheader("Draw zones and masks")

    @st.fragment
    def editor() -> None:
        _editor(client, camera)

    editor()


def _editor(client: EdgeClient, camera: str) -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        st.success(notice)
    try:
        picture = _picture(client, camera)
        settings: dict[str, Any] = client.settings(camera)["settings"]
    except EdgeError as exc:
        st.error(str(exc))
        return
    if picture is None:
        st.info("No frame analysed for this camera yet: nothing to draw on.")
        return
    try:
        image = overlay.decode(picture)
    except overlay.PictureError as exc:
        st.error(str(exc))
        return
    kind: Kind = st.radio(
        "Draw",
        list(KIND_NAMES),
        format_func=KIND_NAMES.__getitem__,
        horizontal=True,
        key=f"draw_kind_{camera}",
    )
    name = st.text_input("Zone name", key=f"draw_zone_{camera}") if kind == "zone" else ""
    _canvas(camera, image, settings)
    _buttons(client, camera, kind, name)
    _delete(client, camera, shapes(settings))


def _canvas(camera: str, image: overlay.Image, settings: dict[str, Any]) -> None:
    draft = _draft(camera)
    height, width = image.shape[:2]
    jpeg = overlay.draw(image, _layers(settings), draft)
    key = f"draw_picture_{camera}"
    alt = f"{camera}: click the corners of the polygon to draw"
    clickable_picture(
        jpeg, alt, len(draft), key, partial(_add_corner, camera, key, (width, height))
    )
    st.caption(f"{len(draft)} corners drawn. {LEGEND}")


def _buttons(client: EdgeClient, camera: str, kind: Kind, name: str) -> None:
    undo, clear, save, fresh = st.columns(4)
    undo.button("Undo last corner", on_click=_undo, args=(camera,), key=f"draw_undo_{camera}")
    clear.button("Clear", on_click=_draft(camera).clear, key=f"draw_clear_{camera}")
    fresh.button("New picture", on_click=_forget_picture, args=(camera,), key=f"draw_new_{camera}")
    if save.button(f"Save {KIND_NAMES[kind].lower()}", type="primary", key=f"draw_save_{camera}"):
        _save(client, camera, kind, name)


def _delete(client: EdgeClient, camera: str, existing: list[Shape]) -> None:
    if not existing:
        return
    choice, button = st.columns([3, 1], vertical_alignment="bottom")
    labels = {shape.label: shape for shape in existing}
    label = choice.selectbox("Existing zones and masks", list(labels), key=f"draw_pick_{camera}")
    if not button.button("Delete", key=f"draw_delete_{camera}") or label is None:
        return
    if _put(client, camera, lambda settings: without(settings, labels[label])):
        _saved(f"Deleted the {label}")


def _save(client: EdgeClient, camera: str, kind: Kind, name: str) -> None:
    draft = list(_draft(camera))

    def change(settings: Settings) -> Settings:
        return with_polygon(settings, kind, draft, name)

    if _put(client, camera, change):
        _draft(camera).clear()
        _saved(
            f"Saved the {f'zone {name.strip()}' if kind == 'zone' else KIND_NAMES[kind].lower()}"
        )


def _put(client: EdgeClient, camera: str, change: Callable[[Settings], Settings]) -> bool:
    """PUT the camera's current settings (read again now, so no edit made meanwhile is lost) as
    `change` makes them; the edge's refusal is shown as it words it."""
    try:
        client.put_settings(camera, change(client.settings(camera)["settings"]))
    except EdgeError as exc:
        st.error(f"Not saved: {exc}")
        return False
    return True


def _saved(done: str) -> None:
    """Say so on the next run, and rerun the whole page: its other parts show the settings."""
    st.session_state[NOTICE_KEY] = f"{done}: the edge applies it from the camera's next frame."
    st.rerun(scope="app")


def _layers(settings: dict[str, Any]) -> list[overlay.Layer]:
    existing = shapes(settings)

    def of(kind: Kind) -> list[tuple[str, list[Point]]]:
        return [(s.label, s.points) for s in existing if s.kind == kind]

    return [
        overlay.Layer(of("zone"), overlay.ZONE_COLOUR, filled=False),
        overlay.Layer(of("motion"), overlay.MOTION_COLOUR, filled=True),
        overlay.Layer(of("privacy"), overlay.PRIVACY_COLOUR, filled=True),
    ]


def _draft(camera: str) -> list[Point]:
    draft: list[Point] = st.session_state.setdefault(f"draw_corners_{camera}", [])
    return draft


def _add_corner(camera: str, key: str, frame: tuple[int, int]) -> None:
    click = last_click(key)
    if click is not None and click.width > 0 and click.height > 0:
        _draft(camera).append(overlay.frame_point(click, frame))


def _undo(camera: str) -> None:
    draft = _draft(camera)
    if draft:
        draft.pop()


def _picture(client: EdgeClient, camera: str) -> bytes | None:
    key = f"draw_source_{camera}"
    if st.session_state.get(key) is None:
        st.session_state[key] = client.frame(camera, annotated=False)
    picture: bytes | None = st.session_state[key]
    return picture


def _forget_picture(camera: str) -> None:
    st.session_state.pop(f"draw_source_{camera}", None)
