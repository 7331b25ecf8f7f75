"""A shaped camera -> edge link on loopback, for measuring split execution end to end.

The camera side sends each message over TCP through a token bucket (the uplink's bandwidth);
the edge side runs in a thread: it reads the message, runs the tail named in it and replies
with its compute time. Only the uplink is shaped: the reply is a few bytes.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Mapping

from pipelines.edgent.runner import EdgePart

log = logging.getLogger(__name__)

FRAME = struct.Struct("!II")  # key length, message length
REPLY = struct.Struct("!d")  # edge compute time, ms
CHUNK = 1400  # about one Ethernet payload


class TokenBucket:
    """`rate_bps` bits per second, at most `burst` bytes of credit, starting with none (so N
    bytes take N / rate, as the planner predicts); `take` sleeps when short."""

    def __init__(self, rate_bps: float, burst: int = 4 * CHUNK) -> None:
        if rate_bps <= 0:
            raise ValueError("rate must be > 0")
        self.bytes_per_s = rate_bps / 8.0
        self.burst = float(burst)
        self._tokens = 0.0
        self._updated = time.monotonic()

    def take(self, nbytes: int) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.bytes_per_s)
        self._updated = now
        self._tokens -= nbytes
        if self._tokens < 0:
            time.sleep(-self._tokens / self.bytes_per_s)


def read_exactly(sock: socket.socket, count: int) -> bytes:
    parts = bytearray()
    while len(parts) < count:
        chunk = sock.recv(count - len(parts))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        parts.extend(chunk)
    return bytes(parts)


class TailServer:
    """The edge half: runs `parts[key]` on each message; key "" only acknowledges (results)."""

    def __init__(self, parts: Mapping[str, EdgePart]) -> None:
        self.parts = parts
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="edgent-tail", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            try:
                while True:
                    key_length, length = FRAME.unpack(read_exactly(connection, FRAME.size))
                    key = read_exactly(connection, key_length).decode()
                    message = read_exactly(connection, length)
                    edge_ms = self.parts[key].run(message)[1] if key else 0.0
                    connection.sendall(REPLY.pack(edge_ms))
            except ConnectionError:
                log.debug("tail server: camera side closed")

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


class ShapedUplink:
    """The camera half's connection to a `TailServer`, its sends shaped to `rate_bps`."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def exchange(self, key: str, message: bytes, rate_bps: float) -> tuple[float, float]:
        """Send `message` for tail `key`; (ms from first byte sent to reply, edge compute ms)."""
        bucket = TokenBucket(rate_bps)
        start = time.perf_counter()
        data = FRAME.pack(len(key.encode()), len(message)) + key.encode() + message
        for offset in range(0, len(data), CHUNK):
            chunk = data[offset : offset + CHUNK]
            bucket.take(len(chunk))
            self._sock.sendall(chunk)
        (edge_ms,) = REPLY.unpack(read_exactly(self._sock, REPLY.size))
        return (time.perf_counter() - start) * 1000.0, edge_ms

    def close(self) -> None:
        self._sock.close()
