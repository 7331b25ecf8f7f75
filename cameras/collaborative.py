"""Edgent on the camera node: every chosen frame is analysed together with the edge box.

For each frame the planner picks an exit (model) and a cut for the bandwidth measured from the
node's own uploads. Edge-only (cut 0) posts the JPEG as usual; otherwise the frame is
letterboxed as the YOLO detector does, the head of the exit's model runs here and the tensors
crossing the cut go to `POST /api/v1/cameras/{id}/tensors` (at the device-only end the whole
model runs here, its output is decoded here and only the detections go: `cameras/device_only.py`).
Every upload carries the planner's status and feeds its bytes and wire time back to the planner.

Needs the onnx package (`pip install -e '.[plan]'`): models are split with it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cameras.device_only import DeviceOnly
from cameras.edge_client import EdgeUplink, UplinkError
from cameras.edgent_config import CameraEdgentConfig
from cameras.edgent_plan import Choice, PinnedPlan, PlanSource, online_plans
from cameras.exit_accuracy_file import AccuracyFileError, read_accuracies
from cameras.protocol import plan_report
from cameras.tensor_meta import TensorMeta
from cameras.uploaders import Outgoing, Uploaded
from pipelines.detectors.letterbox import letterbox
from pipelines.detectors.onnx_yolo import preprocess
from pipelines.detectors.yolo_decode import FrameSize
from pipelines.detectors.yolo_settings import ModelError
from pipelines.edgent.bandwidth import BandwidthSettings
from pipelines.edgent.codec import TensorCodec
from pipelines.edgent.exits import ExitModel, SplitCache, load_exit
from pipelines.edgent.layout import ModelLayout
from pipelines.edgent.planner import Exit
from pipelines.edgent.regression import DeviceProfile
from pipelines.edgent.runner import DevicePart
from pipelines.edgent.split import SplitError, model_layout, split_model
from pipelines.frame_difference import Image

log = logging.getLogger(__name__)

PICTURE_INTERVAL_S = 2.0
"""Least time between pictures the edge asks for (its detector may miss the object on one)."""


@dataclass(frozen=True)
class Head:
    message: bytes
    meta: TensorMeta
    device_ms: float
    """The model's part on this camera (and encoding it): what the device profile predicts."""


class CollaborativeUploader:
    """A `FrameUploader` that runs the head of the planned exit's model on each frame."""

    def __init__(
        self,
        uplink: EdgeUplink,
        exits: Mapping[str, ExitModel],
        plans: PlanSource,
        codec: TensorCodec,
        device_only: DeviceOnly,
        cached_splits: int = 4,
        threads: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        picture_interval_s: float | None = PICTURE_INTERVAL_S,
    ) -> None:
        """``picture_interval_s``: least time between JPEGs sent because the edge asked for a
        picture; None: never (events seen only on tensors then get no snapshot)."""
        self.uplink = uplink
        self.exits = dict(exits)
        self.plans = plans
        self.codec = codec
        self.device_only = device_only
        self.threads = threads
        self._clock = clock
        self._heads: SplitCache[DevicePart] = SplitCache(self._split, cached_splits)
        self.probe_interval_s = BandwidthSettings().probe_after_s
        self._last_probe: float | None = None
        self.picture_interval_s = picture_interval_s
        self._picture_wanted = False
        self._last_picture: float | None = None

    def upload(self, frame: Outgoing) -> Uploaded:
        now = self._clock()
        choice = self.plans.choose(now)
        if frame.jpeg_encoded:  # edge-only is planned at the size of JPEGs that were made
            self.plans.note_jpeg(len(frame.jpeg))
        image = frame.image
        # The edge's wish for a picture, or the uplink's for a measure, sends the JPEG instead.
        detour = (
            image is not None
            and choice.cut != 0
            and (self._picture_due(now) or self._probe_due(now))
        )
        if image is None or choice.cut == 0 or detour:
            meta = frame.meta.model_copy(update={"plan": plan_report(choice.status)})
            jpeg = frame.jpeg  # encoded now: only frames that go as pictures are
            self.plans.note_jpeg(len(jpeg))
            posted = self.uplink.post_frame(jpeg, meta)
            sent, device_ms = len(jpeg), 0.0
        else:
            head = self._run_head(image, frame, choice)
            posted = self.uplink.post_tensors(head.message, head.meta)
            sent, device_ms = len(head.message), head.device_ms
        self._picture_wanted = posted.reply.feedback.send_picture
        self.plans.record_transfer(sent, posted.transfer_s, self._clock())
        model_ms = 1000.0 * (posted.edge_s if posted.model_s is None else posted.model_s)
        # A picture or a probe ran edge-only, not `choice`: it still tells the edge's load,
        # which plans that keep work off the edge would otherwise never measure again.
        ran = replace(choice, cut=0) if detour else choice
        self.plans.record_times(ran, device_ms, model_ms)
        self.plans.record_latency(device_ms + 1000.0 * posted.transfer_s + model_ms)
        return Uploaded(posted.reply, sent)

    def _run_head(self, image: Image, frame: Outgoing, choice: Choice) -> Head:
        try:
            return self.head(image, frame, choice)
        except Exception as exc:  # onnx and onnxruntime raise their own types
            raise UplinkError(
                f"frame {frame.index}: the head of exit {choice.exit} to cut {choice.cut}"
                f" failed on the camera ({exc})"
            ) from exc

    def _picture_due(self, now: float) -> bool:
        """The edge asked for a picture (an event has no snapshot: its object was seen only on
        tensors): this frame goes as its JPEG, at most one every `picture_interval_s`."""
        interval = self.picture_interval_s
        if not self._picture_wanted or interval is None:
            return False
        if self._last_picture is not None and now - self._last_picture < interval:
            return False
        self._last_picture = now
        return True

    def _probe_due(self, now: float) -> bool:
        """Small uploads (device-only detections, thin cuts) are too small to measure the
        uplink, so a plan that sends them would never see the link recover: when the planner
        has had no measure for a while, one frame goes as its JPEG (edge-only), which does."""
        if not self.plans.needs_probe(now):
            return False
        if self._last_probe is not None and now - self._last_probe < self.probe_interval_s:
            return False  # a JPEG too small to count must not make every frame a probe
        self._last_probe = now
        log.debug("edgent: uplink unmeasured for a while, sending this frame as a probe")
        return True

    def head(self, image: Image, frame: Outgoing, choice: Choice) -> Head:
        """The message of the chosen head on `image` (the crossing tensors, or the detections
        at the device-only end), and the metadata that goes with it."""
        model = self.exits[choice.exit]
        boxed, placement = letterbox(image, model.input_size)
        feeds = {model.input_name: preprocess(boxed, model.input_dtype)}
        height, width = image.shape[:2]
        part = self._heads.get(choice.exit, choice.cut)
        started = time.perf_counter()
        if choice.cut == model.nodes:
            # Device-only: decode here and send only the detections, as the planner assumed.
            frame_size = FrameSize(width, height)
            message = self.device_only.message(model, part.compute(feeds), placement, frame_size)
        else:
            message = part.run(feeds).message
        device_ms = (time.perf_counter() - started) * 1000.0
        meta = TensorMeta(
            **frame.meta.model_dump(exclude={"plan"}),
            plan=plan_report(choice.status),
            exit=choice.exit,
            cut=choice.cut,
            frame_width=width,
            frame_height=height,
            scale=placement.scale,
            pad_x=placement.pad_x,
            pad_y=placement.pad_y,
        )
        return Head(message, meta, device_ms)

    def _split(self, exit_name: str, cut: int) -> DevicePart:
        log.info("edgent: splitting exit %s at cut %d", exit_name, cut)
        return DevicePart(split_model(self.exits[exit_name].model, cut), self.codec, self.threads)


def collaborative_uploader(
    config: CameraEdgentConfig,
    uplink: EdgeUplink,
    clock: Callable[[], float] = time.monotonic,
) -> CollaborativeUploader:
    """Load and check the exits' models and the profiles; `ModelError` names a bad file."""
    exits = {e.name: load_exit(e.name, e.model_path) for e in config.exits}
    codec = TensorCodec(config.codec.encoding, config.codec.level)
    log.info(
        "edgent: exits %s, tensors as %s%s, %s",
        ", ".join(exits),
        config.codec.encoding,
        " + zlib" if config.codec.compress else "",
        "pinned plan" if config.pin else f"planned for {config.deadline_ms:g} ms",
    )
    return CollaborativeUploader(
        uplink,
        exits,
        _plans(config, exits),
        codec,
        DeviceOnly.for_exits(exits, config.decoding),
        config.cached_splits,
        config.threads,
        clock,
        config.picture_interval_s,
    )


def _plans(config: CameraEdgentConfig, exits: Mapping[str, ExitModel]) -> PlanSource:
    if config.pin is not None:
        model = exits[config.pin.exit]
        if config.pin.cut > model.nodes:
            raise ModelError(f"{model.path}: pin.cut {config.pin.cut} is outside 0..{model.nodes}")
        return PinnedPlan(config.pin.exit, config.pin.cut, config.deadline_ms)
    assert config.device_profile is not None and config.edge_profile is not None  # validated
    accuracies = _accuracies(config)
    edge_only = config.edge_detector_exit
    planned = [
        Exit(e.name, accuracies[e.name], _layout(exits[e.name]), edge_only in (None, e.name))
        for e in config.exits
    ]
    return online_plans(
        planned,
        _profile(config.device_profile),
        _profile(config.edge_profile),
        config.codec.encoding,
        config.deadline_ms,
    )


def _accuracies(config: CameraEdgentConfig) -> dict[str, float]:
    """Each exit's accuracy: declared in the config, else measured (`accuracy_file`)."""
    declared = {e.name: e.accuracy for e in config.exits if e.accuracy is not None}
    wanted = [e.name for e in config.exits if e.accuracy is None]
    if not wanted:
        return declared
    assert config.accuracy_file is not None  # validated
    try:
        measured = read_accuracies(config.accuracy_file)
    except AccuracyFileError as exc:
        raise ModelError(str(exc)) from None
    missing = [name for name in wanted if name not in measured]
    if missing:
        raise ModelError(f"{config.accuracy_file}: no accuracy for exits {missing}")
    for name in wanted:
        log.info("edgent: exit %s planned at its measured F1 %.3f", name, measured[name].f1)
    return declared | {name: measured[name].f1 for name in wanted}


def _layout(model: ExitModel) -> ModelLayout:
    try:
        return model_layout(model.model, model.name)
    except SplitError as exc:
        raise ModelError(f"{model.path}: cannot be planned ({exc})") from None


def _profile(path: Path) -> DeviceProfile:
    try:
        return DeviceProfile.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ModelError(f"{path}: device profile not found") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{path}: not a device profile from `appliance plan profile` ({exc})"
        ) from None
