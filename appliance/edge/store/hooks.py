"""Work other parts of the appliance add to the store's own transactions (the cloud outbox).

A hook runs inside the transaction of the write it is told about: what it adds commits or
rolls back together with that write, so a crash cannot keep one without the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from .rows import CameraState, EventRow, FrameRow


class StoreHook(Protocol):
    def on_analysis(self, session: Session, frame: FrameRow, events: Sequence[EventRow]) -> None:
        """An analysed frame and its events are about to be written (events not merged yet)."""

    def on_events(self, session: Session, events: Sequence[EventRow]) -> None:
        """Events are about to be written on their own (not merged yet)."""

    def on_camera_state(self, session: Session, report: CameraState) -> None:
        """A camera's reported state was applied."""

    def on_close(self, session: Session) -> None:
        """The edge is stopping: last chance to write what the hook holds."""
