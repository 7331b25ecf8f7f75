"""Light exits that `appliance plan distill` left beside the default exits, for the planner.

They are never trained here (a benchmark never waits on training): a light model under
`<models>/exits/` joins the default family when present, planned with the F1 that distill
measured on frames it was not trained on (its `held_out_f1` metadata) rather than on the
default exits' 60 vtest frames, most of which a head trained on vtest's first 600 has seen.
A model distilled from other weights than the default detector's is left out with a warning.
Needs the onnx package, not torch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnx

from appliance.plan.exit_accuracies import PlannedExit

log = logging.getLogger(__name__)

PATTERN = "*-light-*.onnx"


def distilled_exits(folder: Path, weights_sha256: str) -> list[PlannedExit]:
    """Each light exit in `folder` built from `weights_sha256`, with its held-out F1."""
    planned = []
    for path in sorted(folder.glob(PATTERN)):
        meta = _metadata(path)
        if meta.get("weights_sha256") != weights_sha256 or "held_out_f1" not in meta:
            log.warning("%s: left out (not distilled from these weights, or never scored)", path)
            continue
        name = "light-" + path.stem.rsplit("-", 1)[-1]
        source = (
            f"measured: F1 on {meta.get('held_out_frames', '?')} held-out frames of"
            f" {meta.get('held_out_video', '?')}"
        )
        planned.append(PlannedExit(name, path, float(meta["held_out_f1"]), source))
    return planned


def _metadata(path: Path) -> dict[str, str]:
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # onnx raises protobuf errors: an unreadable file is one not to plan with
        return {}
    return {p.key: p.value for p in model.metadata_props}
