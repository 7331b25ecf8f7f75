"""Posts frames to the edge from background threads, so reading the camera never waits on it.

A live camera keeps producing frames while the edge analyses the last one; a node that sent
synchronously would fall behind its camera whenever the edge is slow. Here up to `in_flight`
frames are on their way at once (the edge's scheduler sees them all and decides, across
cameras, what to analyse); a frame chosen while all are busy waits in one slot, and a newer
one replaces it (latest wins: it says more about now) unless `block` is set (replaying a file
as fast as possible: every chosen frame is sent, and `offer` returns once the edge answered it,
so the node decides the next frame with the edge's reply in hand, as a live camera whose edge
answers within a frame's interval does; without the wait a replay reads on through dozens of
frames per reply and the edge's feedback arrives late in clip time). Outcomes come back in
`drain()`, on the node's own thread, as the frames complete.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from cameras.edge_client import EdgeUplink, UplinkError
from cameras.protocol import FrameReply
from cameras.uploaders import FrameUploader, JpegUploader, Outgoing

__all__ = ["Delivery", "FrameSender", "Outgoing"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    frame: Outgoing
    reply: FrameReply | None = None
    error: UplinkError | None = None
    """Set when the frame did not reach analysis; `dropped_at_camera` frames have neither."""
    dropped_at_camera: bool = False
    sent_bytes: int | None = None
    """What went over the uplink for a delivered frame (None: its JPEG)."""

    @property
    def bytes_sent(self) -> int:
        return self.frame.jpeg_size_hint if self.sent_bytes is None else self.sent_bytes


class FrameSender:
    def __init__(
        self,
        uplink: EdgeUplink,
        in_flight: int = 2,
        block: bool = False,
        uploader: FrameUploader | None = None,
    ) -> None:
        """``uploader``: what goes for each frame; default its JPEG (`JpegUploader`)."""
        self.uplink = uplink
        self.uploader = uploader or JpegUploader(uplink)
        self.block = block
        self._pending: queue.Queue[Outgoing | None] = queue.Queue(maxsize=1)
        self._done: queue.Queue[Delivery] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._worker, name=f"uplink-{i}", daemon=True)
            for i in range(max(1, in_flight))
        ]
        for thread in self._threads:
            thread.start()

    def offer(self, frame: Outgoing) -> None:
        """Hand a frame over; with `block`, waits until its upload has an outcome."""
        if self.block:
            self._pending.put(frame)
            self._pending.join()
            return
        # Only the node's thread puts: after taking the waiting frame out, the slot is free.
        try:
            displaced: Outgoing | None = self._pending.get_nowait()
        except queue.Empty:
            displaced = None
        self._pending.put_nowait(frame)
        if displaced is not None:
            self._done.put(Delivery(displaced, dropped_at_camera=True))

    def drain(self) -> list[Delivery]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> list[Delivery]:
        """Send what is still waiting, stop the threads, and return the last outcomes."""
        for _ in self._threads:
            self._pending.put(None)
        for thread in self._threads:
            thread.join()
        return self.drain()

    def _worker(self) -> None:
        while (frame := self._pending.get()) is not None:
            try:
                sent = self.uploader.upload(frame)
                self._done.put(Delivery(frame, reply=sent.reply, sent_bytes=sent.sent_bytes))
            except UplinkError as exc:
                self._done.put(Delivery(frame, error=exc))
            except Exception as exc:  # a worker that died would leave a file replay blocked
                log.exception("upload of frame %d failed unexpectedly", frame.index)
                error = UplinkError(f"upload failed: {type(exc).__name__}: {exc}")
                self._done.put(Delivery(frame, error=error))
            finally:
                self._pending.task_done()
