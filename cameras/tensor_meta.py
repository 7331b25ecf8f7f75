"""The camera -> edge contract of a frame analysed collaboratively (Edgent).

`POST /api/v1/cameras/{id}/tensors`: the body is one tensor message (`pipelines/edgent/codec.py`:
the tensors crossing the cut; at the device-only end, where the camera ran and decoded it all,
only its detections as `pipelines/detectors/yolo_decode.py`'s `[N, 6]` float32 tensor), this
metadata rides in the `X-Tensor-Meta` header as JSON, the camera's token in
`Authorization: Bearer`. The edge runs the rest of the exit's model from the cut on, maps the
boxes back to frame pixels with the letterbox given here and answers with the same
`FrameReply` as for a JPEG frame.
"""

from __future__ import annotations

from pydantic import Field

from cameras.protocol import FrameMeta

TENSOR_META_HEADER = "X-Tensor-Meta"
TENSOR_CONTENT_TYPE = "application/x-edgent-tensors"
MAX_FRAME_SIDE = 16384


class TensorMeta(FrameMeta):
    """A frame's metadata (as for a JPEG) and how to finish its analysis on the edge."""

    exit: str = Field(
        min_length=1, max_length=64, description="The exit (model) the camera ran the head of."
    )
    cut: int = Field(
        ge=0, description="Partition point: the camera ran nodes [0, cut) of the exit's model."
    )
    frame_width: int = Field(ge=1, le=MAX_FRAME_SIDE, description="Width of the camera's frame.")
    frame_height: int = Field(ge=1, le=MAX_FRAME_SIDE, description="Height of the camera's frame.")
    scale: float = Field(
        gt=0, le=1000, allow_inf_nan=False, description="Letterbox scale, frame to model input."
    )
    pad_x: int = Field(ge=0, le=MAX_FRAME_SIDE, description="Letterbox padding left, pixels.")
    pad_y: int = Field(ge=0, le=MAX_FRAME_SIDE, description="Letterbox padding top, pixels.")
