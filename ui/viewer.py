"""The live view player: WebRTC from the edge box straight into the page, MJPEG as fallback.

The browser talks to the edge (it needs a route to `browser_edge_url`), with a short-lived
viewer ticket the UI server got for this camera: the API token itself never reaches the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import streamlit.components.v1 as components

HEIGHT = 460
_PAGE = """
<div style="font-family: sans-serif; font-size: 13px; color: #555">
  <span id="status" data-state="connecting">Live view: connecting…</span>
</div>
<video id="video" autoplay muted playsinline style="width: 100%; max-height: 420px;
  background: #222"></video>
<img id="mjpeg" alt="live view (MJPEG)" style="display: none; width: 100%">
<script>
const SETTINGS = __SETTINGS__;
const video = document.getElementById("video");
const mjpeg = document.getElementById("mjpeg");
const status = document.getElementById("status");
const query = SETTINGS.ticket ? "?ticket=" + encodeURIComponent(SETTINGS.ticket) : "";
const base = SETTINGS.edge + "/api/v1/cameras/" + encodeURIComponent(SETTINGS.camera);
let fellBack = false;

function show(state, text) {
  status.dataset.state = state;
  status.textContent = "Live view: " + text;
}

function fallback(why) {
  if (fellBack) return;
  fellBack = true;
  video.style.display = "none";
  mjpeg.src = base + "/stream.mjpeg" + (query ? query + "&" : "?") + "fps=2&max_s=3600";
  mjpeg.style.display = "block";
  show("mjpeg", "MJPEG fallback, 2 frames/s (" + why + ")");
}

function gathered(peer) {
  return new Promise((resolve) => {
    if (peer.iceGatheringState === "complete") return resolve();
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 3000);
  });
}

async function start() {
  const peer = new RTCPeerConnection();
  peer.addTransceiver("video", { direction: "recvonly" });
  peer.ontrack = (event) => {
    video.srcObject = event.streams[0] || new MediaStream([event.track]);
  };
  peer.onconnectionstatechange = () => {
    if (peer.connectionState === "failed") fallback("WebRTC connection failed");
  };
  await peer.setLocalDescription(await peer.createOffer());
  await gathered(peer);
  const response = await fetch(base + "/webrtc" + query, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: peer.localDescription.sdp, type: "offer" }),
  });
  if (!response.ok) throw new Error("the edge answered " + response.status);
  await peer.setRemoteDescription(await response.json());
  video.addEventListener("playing", () => show("webrtc", "WebRTC, annotated"));
  setTimeout(() => { if (!(video.currentTime > 0)) fallback("no video over WebRTC"); }, 10000);
}

if (!window.RTCPeerConnection || SETTINGS.mjpeg) {
  fallback(SETTINGS.mjpeg ? "chosen" : "WebRTC unavailable");
} else {
  start().catch((error) => fallback(error.message));
}
</script>
"""


@dataclass(frozen=True)
class ViewerSettings:
    edge: str
    camera: str
    ticket: str | None
    mjpeg: bool = False
    """Skip WebRTC and play the MJPEG stream."""


def page(settings: ViewerSettings) -> str:
    """The player's HTML (settings as JSON, so no value can break out of the script)."""
    data = json.dumps(settings.__dict__).replace("</", "<\\/")
    return _PAGE.replace("__SETTINGS__", data)


def live_view(settings: ViewerSettings) -> None:
    components.html(page(settings), height=HEIGHT)
