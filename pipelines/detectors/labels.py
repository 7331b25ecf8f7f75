"""Labels of interest matched against a model's class names.

Darknet's and Ultralytics' COCO names spell a few classes differently (motorbike/motorcycle,
aeroplane/airplane, ...); a label of interest matches the model's name in either spelling, so
one default list serves both kinds of model.
"""

from __future__ import annotations

from collections.abc import Sequence

# Darknet's coco.names on the left, Ultralytics' COCO names on the right.
COCO_SPELLINGS = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}
_SAME = {**COCO_SPELLINGS, **{v: k for k, v in COCO_SPELLINGS.items()}}

DEFAULT_LABELS_OF_INTEREST = ("person", "bicycle", "car", "motorbike", "bus", "truck")


def spellings(label: str) -> set[str]:
    other = _SAME.get(label)
    return {label, other} if other else {label}


def matching_labels(model_labels: Sequence[str], wanted: Sequence[str]) -> tuple[str, ...]:
    """The model's own names for the `wanted` labels it has, in the model's order."""
    accepted = set().union(*(spellings(w) for w in wanted)) if wanted else set()
    return tuple(label for label in model_labels if label in accepted)
