"""A cap on every request body, applied before any route reads or parses it.

Camera uploads (frames, tensors) stream their bodies through `frame_checks.read_body` with the
edge's `max_frame_bytes`: here they are only refused when they declare more. Every other body
(status reports, settings, WebRTC offers) is small: it is buffered up to `SMALL_BODY_BYTES` and
refused beyond, so no request, authenticated or not, makes the box read or parse megabytes
(a 20 MB status report froze the server for 12 s).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

SMALL_BODY_BYTES = 256 * 1024
UPLOAD_PATH = re.compile(r"^/api/v1/cameras/[^/]+/(frames|tensors)$")


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's limit, before the route sees it."""

    def __init__(
        self, app: App, upload_bytes: int, refused: Callable[[str], None] | None = None
    ) -> None:
        """``refused``: told the reason ("too_large") of each request refused here."""
        self.app = app
        self.upload_bytes = upload_bytes
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = UPLOAD_PATH.match(scope.get("path", "")) is not None
        limit = self.upload_bytes if upload else SMALL_BODY_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(send, limit)
            return
        if upload:  # the route streams it with its own limit
            await self.app(scope, receive, send)
            return
        body = await _read_at_most(receive, limit)
        if body is None:
            await self._too_large(send, limit)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, send: Send, limit: int) -> None:
        if self.refused is not None:
            self.refused("too_large")
        await _answer_too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, upstream: Receive) -> Receive:
    """The body read already, then the connection's own messages (a streaming response
    listens for the client's disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await upstream()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer_too_large(send: Send, limit: int) -> None:
    payload = json.dumps({"detail": f"request body exceeds {limit} bytes"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
