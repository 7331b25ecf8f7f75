"""Live-view slots over WebRTC (real aiortc peers): viewers that post offers and never connect
cannot hold the slots, and the edge asks no STUN server for its candidates."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from fastapi import HTTPException

from appliance.edge.box import EdgeBox
from appliance.edge.config import EdgeConfig
from appliance.edge.http.auth import ViewerGrant
from appliance.edge.http.webrtc import MAX_PEERS, SessionDescription, WebRtcPeers
from appliance.edge.live_frames import LiveFrames

CAMERA = "door"


@pytest.fixture
def box(tmp_path: Path) -> Iterator[EdgeBox]:
    config = EdgeConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "detector": {"kind": "hog"},
            "cameras": [{"id": CAMERA, "token": "door-token-1234"}],
        }
    )
    made = EdgeBox(config)
    yield made
    made.close()


async def silent_viewer() -> tuple[RTCPeerConnection, SessionDescription]:
    """A browser that posts its offer and then never connects (it drops the answer)."""
    peer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer.addTransceiver("video", direction="recvonly")
    await peer.setLocalDescription(await peer.createOffer())
    return peer, SessionDescription(sdp=peer.localDescription.sdp, type="offer")


def test_viewers_that_never_connect_give_their_slots_back(box: EdgeBox) -> None:
    async def scenario() -> None:
        peers = WebRtcPeers(LiveFrames(box), connect_timeout_s=1.0)
        viewers = [await silent_viewer() for _ in range(MAX_PEERS + 1)]
        try:
            for _, offer in viewers[:MAX_PEERS]:
                answer = await peers.answer(CAMERA, offer, ViewerGrant())
                assert "stun" not in answer.sdp.lower()  # host candidates only
            with pytest.raises(HTTPException) as full:
                await peers.answer(CAMERA, viewers[-1][1], ViewerGrant())
            assert full.value.status_code == 503
            await asyncio.sleep(2.0)  # past the connect timeout: all closed
            assert not peers.peers
            await peers.answer(CAMERA, viewers[-1][1], ViewerGrant())
            assert len(peers.peers) == 1
        finally:
            await peers.close()
            for peer, _ in viewers:
                await peer.close()

    asyncio.run(scenario())
