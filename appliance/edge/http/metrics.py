"""`GET /metrics`: the box's counters in the Prometheus exposition format, for the readers'
tokens like every read (a scrape config sends one with `authorization:`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import Depends, FastAPI, Header, HTTPException, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder

from appliance.edge.box import EdgeBox
from appliance.edge.prometheus import metrics_registry

_VERSION = re.compile(r"version\s*=\s*([^;,]*)")
_NUMBERS = re.compile(r"\d{1,4}(\.\d{1,4}){0,2}")


def add_metrics(app: FastAPI, box: EdgeBox, reader: Callable[[str | None], None]) -> None:
    registry = metrics_registry(box)

    # A plain def: FastAPI runs it on its thread pool, so the store's query blocks no upload.
    @app.get(
        "/metrics",
        dependencies=[Depends(reader)],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}}},
    )
    def metrics(accept: str | None = Header(None)) -> Response:
        """Per-camera frames, exits, detector time, latency histograms and source states; the
        scheduler and the cloud outbox (see appliance/edge/prometheus.py). The text format
        (0.0.4) unless `Accept` asks for OpenMetrics or text 1.0.0, as Prometheus may."""
        return exposition(registry, accept or "")


def exposition(registry: CollectorRegistry, accept: str) -> Response:
    """The registry in the format `accept` prefers (prometheus_client's own choice)."""
    # The library compares versions as numbers and fails on others: refuse those first.
    for version in _VERSION.findall(accept):
        if version.strip() and not _NUMBERS.fullmatch(version.strip()):
            raise HTTPException(406, "Accept: a format version must be numbers such as 1.0.0")
    encode, content_type = choose_encoder(accept)
    return Response(encode(registry), media_type=content_type)
