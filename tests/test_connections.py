"""Connections an attacker on the LAN opens against a real edge box: a flood of idle sockets
and a client that sends its headers a byte at a time. The box closes them (connection cap,
header deadline), counts them, and goes on serving cameras and readers."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.edge_process import EdgeProcess, running_edge

CAMERA = "gate"
TOKEN = "gate-token-12345"
MAX_CONNECTIONS = 16
HEADER_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    listen = {"max_connections": MAX_CONNECTIONS, "header_timeout_s": HEADER_TIMEOUT_S}
    with running_edge(
        tmp_path_factory.mktemp("edge"), {CAMERA: TOKEN}, extra={"listen": listen}
    ) as e:
        yield e


def address(edge: EdgeProcess) -> tuple[str, int]:
    host, port = edge.base_url.removeprefix("http://").split(":")
    return host, int(port)


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `within_s`."""
    sock.settimeout(within_s)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def refusals(edge: EdgeProcess) -> dict[str, Any]:
    stats = httpx.get(edge.base_url + "/api/v1/stats", timeout=10).json()
    rejected: dict[str, Any] = stats["edge"]["rejected"]
    return rejected


def test_a_flood_of_idle_connections_is_closed_and_the_box_serves_on(edge: EdgeProcess) -> None:
    before = refusals(edge)
    flood = [socket.create_connection(address(edge)) for _ in range(3 * MAX_CONNECTIONS)]
    try:
        started = time.monotonic()
        closed = [
            closed_by_server(s, HEADER_TIMEOUT_S + 3 - (time.monotonic() - started)) for s in flood
        ]
        assert all(closed)  # the cap's extra at once, the rest at the header deadline
        health = httpx.get(edge.base_url + "/api/v1/health", timeout=5)
        assert health.status_code == 200
    finally:
        for sock in flood:
            sock.close()
    after = refusals(edge)
    refused = after.get("too_many_connections", 0) - before.get("too_many_connections", 0)
    late = after.get("header_timeout", 0) - before.get("header_timeout", 0)
    assert refused >= 2 * MAX_CONNECTIONS - 2 and late >= MAX_CONNECTIONS - 2
    assert refused + late == 3 * MAX_CONNECTIONS


def test_headers_sent_a_byte_at_a_time_are_cut_off(edge: EdgeProcess) -> None:
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: edge\r\nX-Slow: " + b"a" * 200
    with socket.create_connection(address(edge)) as sock:
        started = time.monotonic()
        cut = False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            time.sleep(0.05)
            if time.monotonic() - started > HEADER_TIMEOUT_S + 3:
                break
        cut = cut or closed_by_server(sock, 1.0)
        assert cut, "the server kept a connection whose headers never ended"
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 3


def test_a_kept_alive_client_is_served_across_requests(edge: EdgeProcess) -> None:
    with httpx.Client(base_url=edge.base_url, timeout=10) as client:
        for _ in range(3):
            assert client.get("/api/v1/health").status_code == 200
            time.sleep(HEADER_TIMEOUT_S * 1.5)  # idle longer than the header deadline
        assert client.get("/api/v1/stats").status_code == 200


def test_huge_headers_are_refused_and_the_box_serves_on(edge: EdgeProcess) -> None:
    with socket.create_connection(address(edge)) as sock:
        head = b"GET /api/v1/health HTTP/1.1\r\nHost: edge\r\nX-Big: " + b"a" * 200_000
        # Cut off while sending is refused all the same.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + b"\r\n\r\n")
        sock.settimeout(5)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200")
    assert httpx.get(edge.base_url + "/api/v1/health", timeout=5).status_code == 200
