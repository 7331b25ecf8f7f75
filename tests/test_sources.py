"""Video sources: files with clip timestamps, and URLs whose credentials never leak."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from appliance.sample_clips import FootageError, resolve_video
from cameras.sources import SourceError, SourceKind, VideoSource, classify_source, redact_url
from tests.footage import vtest_path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/stream1", "rtsp://***@10.0.0.5:554/stream1"),
        ("rtsp://user@cam.local/live", "rtsp://***@cam.local/live"),
        # An "@" inside the password must not leave the rest of it in the clear.
        ("rtsp://admin:p@ss@10.0.0.5/s", "rtsp://***@10.0.0.5/s"),
        ("rtsp://a:b@c:d@10.0.0.5:554/x@y", "rtsp://***@10.0.0.5:554/x@y"),
        ("http://cam.local/mjpeg", "http://cam.local/mjpeg"),
        ("/videos/clip.mp4", "/videos/clip.mp4"),
    ],
)
def test_credentials_are_redacted(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_source_kinds() -> None:
    assert classify_source("0") is SourceKind.USB
    assert classify_source("rtsp://cam/stream") is SourceKind.STREAM
    assert classify_source("clip.avi") is SourceKind.FILE


def test_file_frames_carry_clip_time() -> None:
    with VideoSource(str(vtest_path())) as source:
        frames = [source.read() for _ in range(5)]
    assert all(f is not None for f in frames)
    stamps = [f.timestamp for f in frames if f is not None]
    assert [f.index for f in frames if f is not None] == [0, 1, 2, 3, 4]
    assert source.fps == pytest.approx(10.0)
    for earlier, later in itertools.pairwise(stamps):
        assert later - earlier == pytest.approx(0.1, abs=1e-4)
    assert frames[0] is not None and frames[0].image.shape == (576, 768, 3)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        VideoSource(str(tmp_path / "nope.mp4"))


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(SourceError, match="cannot open"):
        VideoSource(str(junk))


def test_sample_names_resolve_to_real_clips() -> None:
    assert resolve_video("vtest").stat().st_size > 1_000_000
    assert resolve_video("bikes").name == "bikes.mp4"
    with pytest.raises(FootageError, match="neither a file nor a sample"):
        resolve_video("no-such-clip")
