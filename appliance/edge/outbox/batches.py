"""Outbox rows grouped into MQTT messages: one topic per message, bounded in records and bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from appliance.edge.store.outbox import OutboxRow
from appliance.mqtt.client import publish_packet_bytes
from appliance.mqtt.wire import envelope, envelope_overhead, topic


@dataclass(frozen=True)
class Batch:
    topic: str
    camera_id: str
    kind: str
    payload: bytes
    row_ids: tuple[int, ...]
    wire_bytes: int
    """Bytes of the MQTT PUBLISH packet (what the cap and the stats count)."""


@dataclass(frozen=True)
class BatchLimits:
    site: str
    prefix: str
    batch_size: int
    max_message_bytes: int


def plan_batches(rows: Sequence[OutboxRow], limits: BatchLimits) -> list[Batch]:
    """Rows (oldest first) as messages, oldest first; a row too big for any message goes alone."""
    groups: dict[tuple[str, str], list[OutboxRow]] = {}
    for row in rows:
        groups.setdefault((row.camera_id, row.kind), []).append(row)
    batches = [
        _batch(chunk, limits)
        for (camera, kind), members in groups.items()
        for chunk in _chunks(members, limits, envelope_overhead(limits.site, camera, kind))
    ]
    return sorted(batches, key=lambda b: b.row_ids[0])


def _chunks(rows: list[OutboxRow], limits: BatchLimits, overhead: int) -> list[list[OutboxRow]]:
    chunks: list[list[OutboxRow]] = []
    current: list[OutboxRow] = []
    size = overhead
    for row in rows:
        grown = size + row.size + (1 if current else 0)
        if current and (len(current) >= limits.batch_size or grown > limits.max_message_bytes):
            chunks.append(current)
            current, grown = [], overhead + row.size
        current.append(row)
        size = grown
    if current:
        chunks.append(current)
    return chunks


def _batch(rows: list[OutboxRow], limits: BatchLimits) -> Batch:
    camera, kind = rows[0].camera_id, rows[0].kind
    name = topic(limits.prefix, limits.site, camera, kind)
    payload = envelope(limits.site, camera, kind, [r.payload for r in rows])
    return Batch(
        topic=name,
        camera_id=camera,
        kind=kind,
        payload=payload,
        row_ids=tuple(r.id for r in rows),
        wire_bytes=publish_packet_bytes(name, payload),
    )
