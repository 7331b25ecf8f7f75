"""The looping file source the demo's cameras run on (`loop: true` in a camera config): at the
end of the clip it starts again, frame numbers and clip time counting on."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from cameras.config import CameraConfig
from cameras.sources import CapturedFrame, VideoSource
from tests.footage import vtest_frames

CLIP_FRAMES = 12


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first frames of vtest.avi as a clip of their own (lossless, so frames compare)."""
    path = tmp_path_factory.mktemp("loop") / "short.avi"
    frames = vtest_frames(0, CLIP_FRAMES)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), 10.0, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def read_all(source: VideoSource, limit: int) -> list[CapturedFrame]:
    frames: list[CapturedFrame] = []
    while len(frames) < limit and (frame := source.read()) is not None:
        assert frame.index == len(frames)
        frames.append(frame)
    return frames


def test_a_looped_file_starts_again_and_keeps_counting(short_clip: Path) -> None:
    with VideoSource(str(short_clip), loop=True) as source:
        frames = read_all(source, 2 * CLIP_FRAMES + 3)
        assert source.loops == 2
    assert len(frames) == 2 * CLIP_FRAMES + 3
    times = [f.timestamp for f in frames]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    for index in range(len(frames) - CLIP_FRAMES):
        assert np.array_equal(frames[index].image, frames[index + CLIP_FRAMES].image), index


def test_without_loop_the_file_ends(short_clip: Path) -> None:
    with VideoSource(str(short_clip)) as source:
        assert len(read_all(source, 100)) == CLIP_FRAMES
        assert source.loops == 0


def test_only_a_file_can_loop() -> None:
    base = {"id": "front", "token": "camera-token", "loop": True}
    assert CameraConfig(**base, source="clip.mp4").loop
    with pytest.raises(ValidationError, match="loop: only a video file can loop"):
        CameraConfig(**base, source="rtsp://camera.local/stream")
