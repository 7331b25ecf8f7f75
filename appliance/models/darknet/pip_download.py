"""`pip download` of one requirement, its bytes counted on a progress bar as they arrive.

pip's own index, proxy and retry settings apply. With a bar to draw, pip reports its download
as `Progress DONE of TOTAL` lines (`--progress-bar raw`, pip 24.1 and newer); otherwise it
runs quietly, as before bars existed.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from appliance.progress import SILENT, Progress, Stage, progress_enabled

RAW_PROGRESS_SINCE = (24, 1)
"""The first pip release with `--progress-bar raw`."""


@dataclass(frozen=True)
class PipOutcome:
    returncode: int
    last_message: str
    """pip's last line other than progress: its error when it failed."""


def pip_download(requirement: str, folder: Path, progress: Progress = SILENT) -> PipOutcome:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "-d", str(folder), requirement,
    ]  # fmt: skip
    if not (progress_enabled(progress.quiet) and _pip_reports_raw_progress()):
        done = subprocess.run([*command, "-q"], capture_output=True, text=True, check=False)
        lines = done.stderr.strip().splitlines()
        return PipOutcome(done.returncode, lines[-1] if lines else "")
    with progress.download(requirement) as stage:
        return _follow([*command, "--progress-bar", "raw"], stage)


def _follow(command: list[str], stage: Stage) -> PipOutcome:
    last = ""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout or ():
            words = line.split()
            if len(words) == 4 and words[0] == "Progress" and words[2] == "of":
                done, total = int(words[1]), int(words[3])
                stage.reached(done, total or None)
            elif line.strip():
                last = line.strip()
    return PipOutcome(process.returncode, last)


def _pip_reports_raw_progress() -> bool:
    try:
        release = importlib.metadata.version("pip").split(".")
        return tuple(int(part) for part in release[:2]) >= RAW_PROGRESS_SINCE
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
