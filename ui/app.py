"""The Streamlit entry point (`appliance ui` runs it): a page picker in the sidebar."""

from __future__ import annotations

import streamlit as st

from ui import camera, events, overview
from ui.context import context
from ui.sign_in import sign_out_button, signed_in

PAGES = {"Overview": overview.render, "Events": events.render, "Camera": camera.render}


def main() -> None:
    st.set_page_config(page_title="Smart-camera edge", layout="wide")
    ctx = context()
    if not signed_in(ctx.config):
        return
    wanted = st.query_params.get("page", "Overview")
    index = list(PAGES).index(wanted) if wanted in PAGES else 0
    page = st.sidebar.radio("Page", list(PAGES), index=index, key="page")
    st.query_params["page"] = page
    st.sidebar.caption(f"Edge box: {ctx.config.edge_url}")
    if ctx.config.password is not None:
        sign_out_button()
    PAGES[page](ctx)


main()
