"""A real shaped network link (`appliance bench link` and the tests): a camera namespace and an
edge namespace joined by a veth pair whose camera side is rate-limited by `tc` (a token bucket
filter, tbf), and a second, unshaped veth from the caller's own namespace to the edge, so the
caller reads the edge's API without going through the shaped link.

Needs root, `ip` and `tc`. netem (delay, loss) is not used: this kernel has no sch_netem, so the
link has a rate but no added delay (docs/edgent.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

BURST = "32kb"
LATENCY = "400ms"


@dataclass(frozen=True)
class ShapedLink:
    camera_ns: str
    edge_ns: str
    edge_address: str
    """The edge as the camera reaches it (through the shaped veth)."""
    edge_from_test: str
    """The edge as the test reaches it (an unshaped veth)."""
    camera_dev: str

    def command(self, namespace: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", namespace, *argv]

    def set_rate(self, mbit_per_s: float) -> None:
        """Change the camera-to-edge rate now (tbf), as a congested or degraded uplink does."""
        rate = f"{round(mbit_per_s * 1000)}kbit"
        _ip("netns", "exec", self.camera_ns, "tc", "qdisc", "replace", "dev", self.camera_dev,
            "root", "tbf", "rate", rate, "burst", BURST, "latency", LATENCY)  # fmt: skip


def unavailable() -> str | None:
    """Why this machine cannot make the link (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian: iproute2)"
    probe = f"probe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@contextmanager
def shaped_link(mbit_per_s: float) -> Iterator[ShapedLink]:
    tag = f"{os.getpid() % 10000}"
    camera, edge = f"cam{tag}", f"edge{tag}"
    shaped, tap = (f"vc{tag}", f"ve{tag}"), (f"vh{tag}", f"vt{tag}")
    try:
        for namespace in (camera, edge):
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
        _join(shaped, camera, edge, "10.231.0")
        _join(tap, None, edge, "10.232.0")
        link = ShapedLink(camera, edge, "10.231.0.2", "10.232.0.2", shaped[0])
        link.set_rate(mbit_per_s)
        yield link
    finally:
        for namespace in (camera, edge):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", tap[0]], capture_output=True)


def _join(devices: tuple[str, str], near: str | None, far: str, net: str) -> None:
    """A veth pair: `.1` on `near` (None: this namespace), `.2` on `far`."""
    first, second = devices
    _ip("link", "add", first, "type", "veth", "peer", "name", second)
    for device, namespace, host in ((first, near, 1), (second, far, 2)):
        where = [] if namespace is None else ["-n", namespace]
        if namespace is not None:
            _ip("link", "set", device, "netns", namespace)
        _ip(*where, "addr", "add", f"{net}.{host}/24", "dev", device)
        _ip(*where, "link", "set", device, "up")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
