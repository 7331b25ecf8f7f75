"""The UI's password gate: with `password` set, nothing of the edge is shown (and no request is
made to it) until this browser session has given the password."""

from __future__ import annotations

import hmac
import logging
import time

import streamlit as st

from ui.config import UiConfig

log = logging.getLogger(__name__)

SIGNED_IN_KEY = "signed_in"
WRONG_PASSWORD_WAIT_S = 1.0
"""A wrong password costs this long, so guessing is slow."""


def signed_in(config: UiConfig) -> bool:
    """Whether this session may see the UI; if not, the sign-in form is what the page shows."""
    if config.password is None or st.session_state.get(SIGNED_IN_KEY):
        return True
    st.title("Smart-camera edge")
    with st.form("sign_in"):
        entered = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        expected = config.password.get_secret_value().encode()
        if hmac.compare_digest(entered.encode(), expected):
            st.session_state[SIGNED_IN_KEY] = True
            st.rerun()
        log.warning("ui: a wrong password was given")
        time.sleep(WRONG_PASSWORD_WAIT_S)
        st.error("Wrong password.")
    return False


def sign_out_button() -> None:
    if st.sidebar.button("Sign out"):
        st.session_state[SIGNED_IN_KEY] = False
        st.rerun()
