"""The tracker's tuning knobs (`pipelines.tracker`), checked when they are made."""

from __future__ import annotations

from dataclasses import dataclass

CONFIRM_SLACK_S = 1e-3


@dataclass(frozen=True)
class TrackerSettings:
    """Tuning knobs; the defaults suit people/vehicles at a few analysed frames per second."""

    iou_threshold: float = 0.1
    """Least IoU of a track's predicted box and a detection to match. Low, because the camera
    sends sparse frames: at 0.3, people walking across vtest sampled every 4th frame broke into
    fragments (event precision 0.66; 0.80 at 0.1)."""
    min_hits: int = 2
    confirm_s: float = 0.2
    """A track is confirmed (an event) once it has `min_hits` matches spanning at least this
    long: time, not frames, so confirmation takes as long whether the edge analysed every frame
    or a few per second (counting hits alone made sparse tracks wait 3 gaps)."""
    max_age_s: float = 2.0
    velocity_smoothing: float = 0.3
    report_misses: int | None = 1
    """predict() leaves out tracks unmatched on more than this many analysed frames in a row:
    the detector lost them, and a box coasting on a guessed velocity is more often wrong than
    right (None: report until max_age_s ends the track)."""
    stationary_after_s: float | None = 3.0
    """A confirmed track whose box stays where it settled (IoU >= stationary_iou) this long is
    stationary: a parked car, a bag on a bench, someone waiting. It asks the camera for no
    keepalive frames and does not end for lack of frames, since the camera sends one whenever
    its pixels change: it ends when analysed frames miss it for max_age_s (None: no track is
    ever stationary). 3 s, not 10: the distractor clip's parked van and car cost 24 frames in
    60 s at 10 (keepalives until they settled), 12 at 3; vtest and bikes unchanged, the quiet
    clip's events within their scatter (docs/benchmarks.md)."""
    stationary_iou: float = 0.6
    new_track_gate: float | None = 1.0
    """A track seen once has no velocity to predict with: it also takes a detection of similar
    size left over by IoU matching whose centre is within this many box widths of its box
    (`pipelines.track_gate`). On sparse frames a walker moves about a width before the next
    one: without it, vtest every 4th frame gave event precision 0.80 (0.84 with), `bench
    system` vtest events 0.85 (0.91), quiet 0.81-0.86 (0.86-0.90). 0.75 changed nothing, 1.5
    no more; the same gate for lost tracks (re-join) merged people in crowds (None: IoU only)."""
    appearance_gate: float | None = None
    """When update() gets a descriptor per detection (`pipelines.appearance`), a track left
    unmatched (lost, or seen once) also takes a leftover detection of its label and size whose
    centre is within this many box widths of its last or predicted box, if it looks alike
    (`appearance_similarity`). Replays of vtest every 4th/5th frame: event precision 0.90/0.72
    without, 1.00/0.94 with (docs/benchmarks.md), but one-to-one pairs with the reference fell
    (65 -> 60 of 65) and identity F1 stayed flat: part of the gain is look-alike people walking
    together joined into one event. None (the default): never; 1.5 is the measured gate."""
    weak_iou: float = 0.3
    """Least IoU of a track's predicted box and a weak detection (under the detector's
    confidence threshold) to continue it (`IouTracker.update`). Higher than `iou_threshold`:
    a weak box proves less, so it must lie where the track was going."""
    appearance_similarity: float = 0.95
    """Least similarity (Bhattacharyya, 0-1) for that: vtest's muted clothes make most people
    0.8-0.9 alike; 0.9 merged people walking side by side."""

    def confirms(self, hits: int, span_s: float) -> bool:
        """Whether a track with `hits` matches over `span_s` seconds is an event."""
        # A millisecond of slack: at an exact frame rate, 0.7 - 0.5 is 0.19999999999999996 s.
        return hits >= self.min_hits and span_s >= self.confirm_s - CONFIRM_SLACK_S

    def __post_init__(self) -> None:
        # Fail at configuration time rather than silently producing odd tracks later.
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1], got {self.iou_threshold}")
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if not self.confirm_s >= 0.0:
            raise ValueError(f"confirm_s must be >= 0, got {self.confirm_s}")
        if not self.max_age_s >= 0.0:
            raise ValueError(f"max_age_s must be >= 0, got {self.max_age_s}")
        if self.report_misses is not None and self.report_misses < 0:
            raise ValueError(f"report_misses must be >= 0 or None, got {self.report_misses}")
        if not 0.0 < self.velocity_smoothing <= 1.0:
            raise ValueError(f"velocity_smoothing must be in (0, 1], got {self.velocity_smoothing}")
        if self.stationary_after_s is not None and not self.stationary_after_s >= 0.0:
            raise ValueError(f"stationary_after_s must be >= 0, got {self.stationary_after_s}")
        if not 0.0 < self.stationary_iou <= 1.0:
            raise ValueError(f"stationary_iou must be in (0, 1], got {self.stationary_iou}")
        if self.new_track_gate is not None and not self.new_track_gate > 0.0:
            raise ValueError(f"new_track_gate must be > 0 or None, got {self.new_track_gate}")
        if self.appearance_gate is not None and not self.appearance_gate > 0.0:
            raise ValueError(f"appearance_gate must be > 0 or None, got {self.appearance_gate}")
        if not 0.0 < self.weak_iou <= 1.0:
            raise ValueError(f"weak_iou must be in (0, 1], got {self.weak_iou}")
        if not 0.0 <= self.appearance_similarity <= 1.0:
            raise ValueError(
                f"appearance_similarity must be in [0, 1], got {self.appearance_similarity}"
            )
