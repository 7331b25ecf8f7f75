"""`appliance models pull`: an Ultralytics YOLO model by name, exported to ONNX for the edge.

NAME is one of
- a model YAML Ultralytics ships (`yolov8n.yaml`): built untrained (tests, or training later);
- a local `.pt` checkpoint;
- an http(s) URL of a `.pt` checkpoint;
- the name of weights Ultralytics publishes (`yolov8n.pt`, `yolo11n.pt`, `yolo26n.pt`),
  downloaded from its GitHub releases with Ultralytics' own downloader.

Everything is written to the output folder: the checkpoint (`yolov8n.pt`, or
`yolov8n-untrained.pt` for a YAML) and its export `<stem>-<imgsz>.onnx`. Needs the `train`
extra (Ultralytics and torch); nothing else in the appliance imports them. They are imported
by name (importlib) so that the type checker does not walk all of torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from appliance.models.errors import ModelToolError
from appliance.models.info import ModelInfo, describe_onnx
from appliance.progress import SILENT, Progress
from pipelines.detectors.yolo_settings import YoloOnnxSettings

log = logging.getLogger(__name__)

# Ultralytics' own floor for a downloaded checkpoint: smaller is an error page, not weights.
MIN_WEIGHTS_BYTES = 100_000
YAML_SUFFIXES = (".yaml", ".yml")
TRAIN_EXTRA_HINT = "pip install -e '.[train]'"


@dataclass(frozen=True)
class PullSettings:
    name: str
    imgsz: int = 640
    output_dir: Path = Path("models")
    opset: int | None = None
    retries: int = 3


@dataclass(frozen=True)
class PullResult:
    name: str
    source: str
    weights: Path
    onnx_path: Path
    info: ModelInfo


def pull(settings: PullSettings, progress: Progress = SILENT) -> PullResult:
    """Get the checkpoint, export it to ONNX and check the edge can load the export."""
    ultralytics = import_ultralytics()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    with progress.timed(f"getting {settings.name}"):
        weights, source = _checkpoint(ultralytics, settings)
    with progress.timed(f"exporting {weights.name} to ONNX"):
        onnx_path = _export(ultralytics, weights, settings)
    info = describe_onnx(YoloOnnxSettings(model_path=str(onnx_path)))
    if info.problem:
        raise ModelToolError(f"the export is not usable by the edge: {info.problem}")
    return PullResult(settings.name, source, weights, onnx_path, info)


def import_ultralytics() -> Any:
    """The ultralytics package, told never to pip-install anything into this environment."""
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "true" if log.isEnabledFor(logging.DEBUG) else "false")
    try:
        return importlib.import_module("ultralytics")
    except ImportError as exc:
        raise ModelToolError(
            f"pulling models needs the train extra (Ultralytics and torch): {TRAIN_EXTRA_HINT}"
            f" ({exc})"
        ) from None


def _checkpoint(ultralytics: Any, settings: PullSettings) -> tuple[Path, str]:
    """The `.pt` file in the output folder to export, and where it came from."""
    name, folder = settings.name, settings.output_dir
    if name.lower().endswith(YAML_SUFFIXES):
        return _build_untrained(ultralytics, name, folder), f"built untrained from {name}"
    local = Path(name)
    if local.is_file():
        target = folder / local.name
        if not target.exists() or not target.samefile(local):
            shutil.copy2(local, target)
        return target, f"copied from {local}"
    url = name if is_url(name) else release_url(name)
    target = folder / checkpoint_name(url)
    if target.is_file():
        log.info("using %s, downloaded before", target)
        return target, f"{url} (downloaded before)"
    download(url, target, settings.retries)
    return target, f"downloaded from {url}"


def _build_untrained(ultralytics: Any, name: str, folder: Path) -> Path:
    try:
        model = ultralytics.YOLO(name)
    except (OSError, ValueError, KeyError) as exc:  # unknown or malformed YAML
        raise ModelToolError(f"{name}: not a model YAML Ultralytics can build ({exc})") from None
    target = folder / f"{Path(name).stem}-untrained.pt"
    model.save(target)
    log.info("built %s untrained (random weights) into %s", name, target)
    return target


def is_url(name: str) -> bool:
    return name.lower().startswith(("http://", "https://"))


def release_url(name: str) -> str:
    """Where Ultralytics' downloader fetches its published weights `name` from."""
    downloads = importlib.import_module("ultralytics.utils.downloads")
    if name not in downloads.GITHUB_ASSETS_NAMES:
        raise ModelToolError(
            f"unknown model {name!r}: give a model YAML (yolov8n.yaml), a .pt file, an http(s)"
            " URL of one, or weights Ultralytics publishes (yolov8n.pt, yolo11n.pt, yolo26n.pt)"
        )
    # The release tag Ultralytics' own attempt_download_asset() uses for these names.
    release = inspect.signature(downloads.attempt_download_asset).parameters["release"].default
    return f"https://github.com/{downloads.GITHUB_ASSETS_REPO}/releases/download/{release}/{name}"


def checkpoint_name(url: str) -> str:
    name = Path(unquote(urlsplit(url).path)).name
    if not name.endswith(".pt"):
        raise ModelToolError(f"{url}: expected the URL of a .pt checkpoint")
    return name


def download(url: str, target: Path, retries: int) -> None:
    """Fetch `url` into `target` with Ultralytics' downloader (retries, resume, size checks)."""
    downloads = importlib.import_module("ultralytics.utils.downloads")
    log.info("downloading %s from %s", target.name, url)
    try:
        downloads.safe_download(
            url=url, file=target, retry=retries, min_bytes=MIN_WEIGHTS_BYTES, unzip=False
        )
    except OSError as exc:  # Ultralytics raises ConnectionError once its retries are spent
        reason = failure_reason(exc, urlsplit(url).hostname or url)
        raise ModelToolError(f"cannot download {target.name} from {url}: {reason}") from None


def failure_reason(exc: BaseException, host: str) -> str:
    """The root cause of a failed download in a few words."""
    chain = _causes(exc)
    for cause in chain:
        status = getattr(getattr(cause, "response", None), "status_code", None)
        if status is not None:
            return f"{host} answered HTTP {status}"
    names = {type(c).__name__ for c in chain}
    if names & {"NameResolutionError", "gaierror"}:
        return f"{host} does not resolve (no network or no DNS on this machine)"
    if "ProxyError" in names:
        return f"the HTTP proxy set for {host} is unreachable"
    if "ConnectionRefusedError" in names or any("Connection refused" in str(c) for c in chain):
        return f"{host} refused the connection"
    if names & {"ConnectTimeoutError", "ReadTimeoutError", "TimeoutError", "Timeout"}:
        return f"no answer from {host} (timed out)"
    text = str(chain[-1]).strip().splitlines() or [type(chain[-1]).__name__]
    return text[0].lstrip("❌ ").strip()


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: __cause__, __context__ and urllib3's `reason`."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        reason = getattr(current, "reason", None)
        wrapped = reason if isinstance(reason, BaseException) else None
        current = current.__cause__ or current.__context__ or wrapped
    return chain


def _export(ultralytics: Any, weights: Path, settings: PullSettings) -> Path:
    """Export `weights` to `<stem>-<imgsz>.onnx` beside it: raw `[1, 4+C, N]` output."""
    try:
        model = ultralytics.YOLO(str(weights))
    except Exception as exc:  # torch and Ultralytics raise many kinds for a bad checkpoint
        log.debug("loading %s failed", weights, exc_info=True)
        raise ModelToolError(f"{weights}: not a loadable Ultralytics checkpoint ({exc})") from None
    if model.task != "detect":
        raise ModelToolError(f"{settings.name}: a {model.task} model; the edge runs detect models")
    simplify = importlib.util.find_spec("onnxslim") is not None
    if not simplify:
        log.info("onnxslim is not installed: exporting without graph simplification")
    log.info("exporting %s to ONNX at %d px", weights, settings.imgsz)
    try:
        exported = model.export(
            format="onnx",
            imgsz=settings.imgsz,
            opset=settings.opset,
            simplify=simplify,
            dynamic=False,
            half=False,
            device="cpu",
        )
    except Exception as exc:  # the exporter's failures come from torch, onnx and itself
        log.debug("export of %s failed", weights, exc_info=True)
        raise ModelToolError(f"{settings.name}: ONNX export failed ({exc})") from None
    target = weights.with_name(f"{weights.stem}-{settings.imgsz}.onnx")
    Path(exported).replace(target)
    return target
