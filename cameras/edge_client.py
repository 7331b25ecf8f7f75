"""HTTP client that posts selected frames to the edge box and returns its reply."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from cameras.protocol import META_HEADER, CameraStatus, FrameMeta, FrameReply
from cameras.tensor_meta import TENSOR_CONTENT_TYPE, TENSOR_META_HEADER, TensorMeta

log = logging.getLogger(__name__)

EDGE_TIME_HEADER = "X-Edge-Time-Ms"
MODEL_TIME_HEADER = "X-Edge-Model-Ms"
"""What the edge's model (its detector, or a split model's tail) took of that time: the figure
Edgent's planner compares with its profile to learn the edge's load (the rest is queueing,
decoding and storing, which no layer profile predicts)."""
"""Response header: milliseconds the edge spent on an upload after its body arrived (queue,
analysis, store); the camera subtracts it from the request's duration to measure its uplink."""
MIN_TRANSFER_S = 1e-4


class UplinkError(Exception):
    """The edge refused a frame or could not be reached; the message names why."""

    def __init__(self, message: str, status: int | None = None, shed: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.shed = shed
        """Why the edge's scheduler dropped the frame unanalysed (it was saturated)."""


@dataclass(frozen=True)
class Posted:
    """The edge's reply to one upload and how long the upload itself took."""

    reply: FrameReply
    seconds: float
    """The whole request, as the camera saw it."""
    edge_s: float
    """What the edge reported spending after the body arrived (0 if it did not say)."""
    model_s: float | None = None
    """What the edge's model took of it (None: the edge did not say)."""

    @property
    def transfer_s(self) -> float:
        """Time on the wire: the request less the edge's own work."""
        return max(self.seconds - self.edge_s, MIN_TRANSFER_S)


class EdgeUplink:
    """One camera's connection to the edge box, with retries on transport errors."""

    def __init__(
        self,
        edge_url: str,
        camera_id: str,
        token: str,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        self.camera_id = camera_id
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.bytes_sent = 0
        self.failures = 0
        self._counts_lock = threading.Lock()
        camera_url = f"{edge_url.rstrip('/')}/api/v1/cameras/{camera_id}"
        self._url = f"{camera_url}/frames"
        self._tensors_url = f"{camera_url}/tensors"
        self._status_url = f"{camera_url}/status"
        self._client = httpx.Client(
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
        )

    def send(self, jpeg: bytes, meta: FrameMeta) -> FrameReply:
        return self.post_frame(jpeg, meta).reply

    def post_frame(self, jpeg: bytes, meta: FrameMeta) -> Posted:
        """Upload a JPEG frame; the reply and the upload's timing."""
        headers = {META_HEADER: meta.model_dump_json()}
        return self._post(self._url, jpeg, headers, meta.seq)

    def post_tensors(self, message: bytes, meta: TensorMeta) -> Posted:
        """Upload a frame analysed collaboratively: the tensor message of the model's head."""
        headers = {
            TENSOR_META_HEADER: meta.model_dump_json(),
            "Content-Type": TENSOR_CONTENT_TYPE,
        }
        return self._post(self._tensors_url, message, headers, meta.seq)

    def _post(self, url: str, body: bytes, headers: dict[str, str], seq: int) -> Posted:
        for attempt in range(1, self.attempts + 1):
            start = time.perf_counter()
            try:
                response = self._client.post(url, content=body, headers=headers)
            except httpx.TransportError as exc:
                self._count(failures=1)
                if attempt == self.attempts:
                    raise UplinkError(f"edge box unreachable at {url}: {exc}") from exc
                log.warning("upload of frame %d failed (%s); retrying", seq, exc)
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            seconds = time.perf_counter() - start
            self._count(sent=len(body))
            edge_s = _header_seconds(response, EDGE_TIME_HEADER) or 0.0
            model_s = _header_seconds(response, MODEL_TIME_HEADER)
            return Posted(self._reply(response), seconds, edge_s, model_s)
        raise AssertionError("unreachable")  # pragma: no cover

    def report_status(self, status: CameraStatus) -> bool:
        """Tell the edge the source's state; a failure is logged, never fatal to the node."""
        try:
            response = self._client.post(
                self._status_url,
                content=status.model_dump_json(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.TransportError as exc:
            log.warning("could not report state %s to the edge: %s", status.state, exc)
            return False
        if response.status_code >= 400:
            log.warning("edge refused state report: %s %s", response.status_code, _detail(response))
            return False
        return True

    def _reply(self, response: httpx.Response) -> FrameReply:
        if response.status_code >= 400:
            self._count(failures=1)
            raise UplinkError(
                f"edge box refused the frame: {response.status_code} {_detail(response)}",
                response.status_code,
                _field(response, "shed"),
            )
        try:
            return FrameReply.model_validate_json(response.content)
        except ValidationError as exc:
            raise UplinkError(f"edge box sent an unreadable reply: {exc}") from exc

    def _count(self, sent: int = 0, failures: int = 0) -> None:
        """Counters shared by the sender's upload threads."""
        with self._counts_lock:
            self.bytes_sent += sent
            self.failures += failures

    def close(self) -> None:
        self._client.close()


def _header_seconds(response: httpx.Response, header: str) -> float | None:
    """A milliseconds header in seconds (None: absent or not a number)."""
    try:
        return max(0.0, float(response.headers[header]) / 1000.0)
    except (KeyError, ValueError):
        return None


def _detail(response: httpx.Response) -> str:
    return _field(response, "detail") or response.text[:200]


def _field(response: httpx.Response, name: str) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return None if value is None else str(value)
