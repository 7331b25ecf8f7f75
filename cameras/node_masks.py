"""The masks in force on a camera node: its own (YAML) and those the edge's settings add.

Privacy masks are painted on each frame as it enters the node, before the difference filter,
the tiny detector, JPEGs, regions, tensors and the pictures the edge asks for: none of them
ever holds a masked pixel. Motion masks go to the frame selector. The edge's masks arrive in
every reply and replace the edge's previous ones from the next frame; the node's own always
stay (an edge cannot unmask what the camera's owner masked on the camera).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from cameras.mask_config import MaskConfig
from cameras.sources import CapturedFrame
from pipelines.masks import MaskPolygons, MotionMask, PrivacyMask
from pipelines.selection import FrameSelector

log = logging.getLogger(__name__)


class NodeMasks:
    def __init__(self, selector: FrameSelector, own: MaskConfig | None = None) -> None:
        self.selector = selector
        self.own = (own or MaskConfig()).polygons()
        self.from_edge = MaskPolygons()
        self.privacy = PrivacyMask(self.own.privacy)
        selector.motion_mask = MotionMask(self.own.motion)

    @property
    def in_force(self) -> MaskPolygons:
        return self.own.union(self.from_edge)

    def paint(self, frame: CapturedFrame) -> CapturedFrame:
        """The frame with its privacy masks painted black (itself when there are none)."""
        if not self.privacy:
            return frame
        return replace(frame, image=self.privacy.apply_privacy(frame.image))

    def follow(self, from_edge: MaskConfig | None) -> bool:
        """Apply the masks of an edge reply (None: an edge without masks, keep them); whether
        the privacy masks changed (the edge's picture then needs a whole frame)."""
        if from_edge is None:
            return False
        polygons = from_edge.polygons()
        if polygons == self.from_edge:
            return False
        self.from_edge = polygons
        masks = self.in_force
        privacy_changed = masks.privacy != self.privacy.polygons
        self.privacy = PrivacyMask(masks.privacy)
        self.selector.motion_mask = MotionMask(masks.motion)
        log.info(
            "edge set masks: %d motion and %d privacy polygons in force",
            len(masks.motion),
            len(masks.privacy),
        )
        return privacy_changed
