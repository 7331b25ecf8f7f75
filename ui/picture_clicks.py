"""A picture that reports where it is clicked: a small Streamlit component (components v2,
inline JavaScript, no build step). It shows a JPEG scaled to the page's width and sends each
click as a one-shot `click` value: the point in CSS pixels and the size the picture was shown at,
which `ui.overlay.frame_point` turns into frame pixels."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui.overlay import Click

_CSS = """
img.clickable-picture { display: block; width: 100%; height: auto; cursor: crosshair;
  user-select: none; }
"""
# The function runs again whenever `data` changes: the picture is replaced, the element and its
# click handler are kept (the handler reads the latest `setTriggerValue` off the element).
_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let picture = parentElement.querySelector("img.clickable-picture");
  if (!picture) {
    picture = document.createElement("img");
    picture.className = "clickable-picture";
    picture.draggable = false;
    picture.addEventListener("click", (event) => {
      const shown = picture.getBoundingClientRect();
      picture.send("click", {
        x: event.clientX - shown.left, y: event.clientY - shown.top,
        width: shown.width, height: shown.height,
      });
    });
    parentElement.appendChild(picture);
  }
  picture.send = setTriggerValue;
  picture.alt = data.alt;
  picture.dataset.corners = String(data.corners);
  if (picture.getAttribute("src") !== data.src) picture.src = data.src;
}
"""
_COMPONENT = st.components.v2.component("smartcam_picture_clicks", css=_CSS, js=_JS)


def clickable_picture(
    jpeg: bytes, alt: str, corners: int, key: str, on_click: Callable[[], None]
) -> None:
    """Show `jpeg`; `on_click` runs (before the rerun) for each click, read with `last_click`.
    `corners`: how many corners the drawn polygon has (the page's state, for browsers and
    tests to see)."""
    src = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    _COMPONENT(key=key, data={"src": src, "alt": alt, "corners": corners}, on_click_change=on_click)


def last_click(key: str) -> Click | None:
    """The click that triggered this run of the component under `key`; None if it did not."""
    state: Any = st.session_state.get(key)
    raw = None if state is None else state.get("click")
    if not isinstance(raw, dict):
        return None
    try:
        return Click(float(raw["x"]), float(raw["y"]), float(raw["width"]), float(raw["height"]))
    except (KeyError, TypeError, ValueError):
        return None
