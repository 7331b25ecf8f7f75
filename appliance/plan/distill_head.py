"""The light exit head and its training by distillation (torch: the `train` extra).

The head reads the backbone's frozen feature map: a 3x3 convolution (batch norm while
training, folded into it for export), leaky ReLU 0.1 as Darknet's, and a 1x1 convolution to
A x (5 + C) channels per cell, laid out as a Darknet [yolo] layer reads them (anchor-major:
x, y, w, h, objectness, C classes). Its loss is YOLOv3's against the teacher's boxes: each box
is assigned to the cell holding its centre and the anchor of closest shape; objectness BCE
everywhere except where a prediction already overlaps a teacher box (IoU above 0.5, Darknet's
ignore_thresh), centre and log-size squared error, class BCE. Import this module only where
torch is wanted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from appliance.plan.distill_data import DistillSet

log = logging.getLogger(__name__)

LEAKY_SLOPE = 0.1
IGNORE_IOU = 0.5
BN_EPSILON = 1e-5
OBJECTNESS_PRIOR = 0.01
"""Objectness at the start (bias of the output convolution): few cells hold an object."""


@dataclass(frozen=True)
class HeadShape:
    channels: int
    """Channels of the feature map the head reads."""
    hidden: int
    anchors: tuple[tuple[float, float], ...]
    """(width, height) in input pixels."""
    classes: int
    stride: int
    """Input pixels per cell of the feature map."""


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 30
    batch: int = 16
    learning_rate: float = 2e-3
    seed: int = 0


@dataclass(frozen=True)
class FoldedHead:
    """The trained head as plain arrays (batch norm folded in), what the exporter writes."""

    conv_weight: npt.NDArray[np.float32]
    conv_bias: npt.NDArray[np.float32]
    out_weight: npt.NDArray[np.float32]
    out_bias: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Trained:
    head: FoldedHead
    losses: list[float]
    """Mean loss per frame in each epoch."""


class LightHead(nn.Module):
    def __init__(self, shape: HeadShape) -> None:
        super().__init__()
        self.shape = shape
        self.conv = nn.Conv2d(shape.channels, shape.hidden, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(shape.hidden, eps=BN_EPSILON)
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.out = nn.Conv2d(shape.hidden, len(shape.anchors) * (5 + shape.classes), 1)
        with torch.no_grad():
            bias = _present(self.out.bias).view(len(shape.anchors), 5 + shape.classes)
            bias.zero_()
            bias[:, 4] = float(np.log(OBJECTNESS_PRIOR / (1 - OBJECTNESS_PRIOR)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """`[B, A, 5+C, H, W]` raw outputs."""
        raw: torch.Tensor = self.out(self.act(self.norm(self.conv(features))))
        b, _, h, w = raw.shape
        return raw.view(b, len(self.shape.anchors), 5 + self.shape.classes, h, w)

    def folded(self) -> FoldedHead:
        """The head as inference runs it: batch norm's running statistics folded into the conv."""
        norm = self.norm
        variance, mean = _present(norm.running_var), _present(norm.running_mean)
        scale = norm.weight / torch.sqrt(variance + norm.eps)
        weight = self.conv.weight * scale.view(-1, 1, 1, 1)
        bias = norm.bias - mean * scale
        tensors = (weight, bias, self.out.weight, _present(self.out.bias))
        return FoldedHead(*(t.detach().cpu().numpy().astype(np.float32) for t in tensors))


def _present(tensor: torch.Tensor | None) -> torch.Tensor:
    """A parameter or buffer the layer was built with (torch types them as optional)."""
    assert tensor is not None
    return tensor


@dataclass(frozen=True)
class Targets:
    """Per frame and anchor cell: assigned or not, where, which class; and every teacher box."""

    assigned: torch.Tensor
    """`[N, A, H, W]` bool."""
    boxes: torch.Tensor
    """`[N, A, 4, H, W]`: centre within the cell (0..1), log of size over the anchor's."""
    weight: torch.Tensor
    """`[N, A, H, W]`: 2 - box area share (small boxes count more, as YOLOv3 weighs them)."""
    classes: torch.Tensor
    """`[N, A, H, W]` class id (-1: none)."""
    teacher: torch.Tensor
    """`[N, M, 4]` x1, y1, x2, y2 of every teacher box (zero-padded), for the ignore mask."""

    def sliced(self, frames: torch.Tensor) -> Targets:
        return Targets(*(getattr(self, f.name)[frames] for f in fields(self)))


def assign(data: DistillSet, shape: HeadShape) -> Targets:
    n, _, height, width = data.features.shape
    a = len(shape.anchors)
    assigned = np.zeros((n, a, height, width), np.bool_)
    boxes = np.zeros((n, a, 4, height, width), np.float32)
    weight = np.zeros((n, a, height, width), np.float32)
    classes = np.full((n, a, height, width), -1, np.int64)
    most = max(1, max(len(b) for b in data.boxes))
    teacher = np.zeros((n, most, 4), np.float32)
    anchors = np.array(shape.anchors, np.float32)
    area = float(height * width * shape.stride**2)
    for i, rows in enumerate(data.boxes):
        for m, (cls, cx, cy, bw, bh) in enumerate(rows):
            teacher[i, m] = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
            gx, gy = cx / shape.stride, cy / shape.stride
            col, row = min(int(gx), width - 1), min(int(gy), height - 1)
            best = int(np.argmax(_shape_iou(bw, bh, anchors)))
            assigned[i, best, row, col] = True
            boxes[i, best, :, row, col] = (
                gx - col,
                gy - row,
                np.log(max(bw, 1.0) / anchors[best, 0]),
                np.log(max(bh, 1.0) / anchors[best, 1]),
            )
            weight[i, best, row, col] = 2.0 - bw * bh / area
            classes[i, best, row, col] = int(cls)
    as_tensor = torch.from_numpy
    return Targets(*map(as_tensor, (assigned, boxes, weight, classes, teacher)))


def _shape_iou(
    width: float, height: float, anchors: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    inter = np.minimum(width, anchors[:, 0]) * np.minimum(height, anchors[:, 1])
    union = width * height + anchors[:, 0] * anchors[:, 1] - inter
    return np.asarray(inter / union, np.float32)


def decoded(raw: torch.Tensor, shape: HeadShape) -> torch.Tensor:
    """`[B, A, H, W, 4]` x1, y1, x2, y2 in input pixels, as the exported [yolo] decoding."""
    _, _, _, h, w = raw.shape
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    anchors = torch.tensor(shape.anchors, dtype=raw.dtype).view(1, -1, 2, 1, 1)
    cx = (torch.sigmoid(raw[:, :, 0]) + cols) * shape.stride
    cy = (torch.sigmoid(raw[:, :, 1]) + rows) * shape.stride
    size = torch.exp(raw[:, :, 2:4].clamp(max=8.0)) * anchors
    bw, bh = size[:, :, 0], size[:, :, 1]
    return torch.stack((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), dim=-1)


def _ignored(raw: torch.Tensor, teacher: torch.Tensor, shape: HeadShape) -> torch.Tensor:
    """`[B, A, H, W]`: predictions overlapping some teacher box by more than IGNORE_IOU."""
    with torch.no_grad():
        pred = decoded(raw, shape).flatten(1, 3)  # [B, P, 4]
        lo = torch.maximum(pred[:, :, None, :2], teacher[:, None, :, :2])
        hi = torch.minimum(pred[:, :, None, 2:], teacher[:, None, :, 2:])
        inter = (hi - lo).clamp(min=0).prod(-1)
        areas = (pred[:, :, 2:] - pred[:, :, :2]).prod(-1)[:, :, None]
        truth = (teacher[:, :, 2:] - teacher[:, :, :2]).prod(-1)[:, None, :]
        iou = inter / (areas + truth - inter + 1e-9)
        best = iou.max(dim=2).values if teacher.shape[1] else torch.zeros_like(areas[..., 0])
    return (best > IGNORE_IOU).view(raw.shape[0], raw.shape[1], raw.shape[3], raw.shape[4])


def loss_of(raw: torch.Tensor, targets: Targets, shape: HeadShape) -> torch.Tensor:
    """Summed YOLOv3 loss of a batch (targets already sliced to it)."""
    bce = nn.functional.binary_cross_entropy_with_logits
    pos = targets.assigned
    neg = ~pos & ~_ignored(raw, targets.teacher, shape)
    objectness = raw[:, :, 4]
    obj = bce(objectness[pos], torch.ones_like(objectness[pos]), reduction="sum") + bce(
        objectness[neg], torch.zeros_like(objectness[neg]), reduction="sum"
    )
    centre = torch.sigmoid(raw[:, :, 0:2]) - targets.boxes[:, :, 0:2]
    size = raw[:, :, 2:4] - targets.boxes[:, :, 2:4]
    box = ((centre**2 + size**2).sum(2) * targets.weight)[pos].sum()
    scores = raw[:, :, 5:].permute(0, 1, 3, 4, 2)[pos]  # [P, C]
    wanted = nn.functional.one_hot(targets.classes[pos], shape.classes).to(scores.dtype)
    return obj + box + bce(scores, wanted, reduction="sum")


def train_head(
    data: DistillSet,
    shape: HeadShape,
    settings: TrainSettings,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Trained:
    """Train a head on `data` (deterministic for a seed and thread count)."""
    torch.manual_seed(settings.seed)
    shuffle = torch.Generator().manual_seed(settings.seed)
    head = LightHead(shape)
    targets = assign(data, shape)
    features = torch.from_numpy(data.features)
    optimiser = torch.optim.Adam(head.parameters(), lr=settings.learning_rate)
    steps = settings.epochs * -(-data.frames // settings.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, settings.learning_rate, total_steps=max(1, steps)
    )
    losses = []
    for epoch in range(settings.epochs):
        head.train()
        order = torch.randperm(data.frames, generator=shuffle)
        batches = [order[i : i + settings.batch] for i in range(0, data.frames, settings.batch)]
        total = 0.0
        for batch in batches:
            if len(batch) > 1 or data.frames == 1:  # batch norm needs two samples
                total += _step(head, features[batch].float(), targets.sliced(batch), optimiser)
                schedule.step()
        losses.append(total / data.frames)
        log.info("epoch %d: loss %.3f per frame", epoch + 1, losses[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    head.eval()
    return Trained(head.folded(), losses)


def _step(
    head: LightHead, features: torch.Tensor, targets: Targets, optimiser: torch.optim.Optimizer
) -> float:
    """One optimiser step on a batch; its summed loss."""
    loss = loss_of(head(features), targets, head.shape)
    optimiser.zero_grad()
    torch.autograd.backward(loss / len(features))
    optimiser.step()
    return float(loss.detach())
