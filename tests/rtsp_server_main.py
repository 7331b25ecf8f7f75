"""A tiny RTSP server for the tests: loops an H.264 mp4 forever on rtsp://127.0.0.1:PORT/MOUNT.

Run by Debian's /usr/bin/python3 (it needs python3-gi and gir1.2-gst-rtsp-server-1.0, which
the venv does not see), not by the venv's python:

    /usr/bin/python3 tests/rtsp_server_main.py VIDEO.mp4 PORT /cam [--user U --password P]

With --user/--password, clients must authenticate (basic auth). The media is shared by all
clients and loops by seeking back to the start on end-of-stream, so RTP timestamps restart on
each loop (clients should use the wall clock). SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

HOST = "127.0.0.1"
ROLE = "tester"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path, help="H.264 mp4 file")
    parser.add_argument("port", type=int)
    parser.add_argument("mount", help="mount point, e.g. /cam")
    parser.add_argument("--user")
    parser.add_argument("--password")
    return parser.parse_args(argv)


def loop_on_eos(media: GstRtspServer.RTSPMedia) -> None:
    """Swallow end-of-stream after the parser and seek the whole pipeline back to 0 instead."""
    element = media.get_element()
    parser = element.get_by_name("parse")
    pipeline = element.get_parent() or element

    def rewind() -> bool:
        pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        return False

    def probe(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        event = info.get_event()
        if event is not None and event.type == Gst.EventType.EOS:
            GLib.idle_add(rewind)
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    parser.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, probe)


def make_factory(video: Path) -> GstRtspServer.RTSPMediaFactory:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{video}" ! qtdemux ! h264parse name=parse'
        " ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)
    factory.connect("media-configure", lambda _factory, media: loop_on_eos(media))
    return factory


def require_login(
    server: GstRtspServer.RTSPServer,
    factory: GstRtspServer.RTSPMediaFactory,
    user: str,
    password: str,
) -> None:
    """Basic auth: only `user:password` may see and play the media."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    factory.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not args.video.is_file():
        print(f"rtsp server: no such video: {args.video}", file=sys.stderr)
        return 2
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(HOST)
    server.set_service(str(args.port))
    factory = make_factory(args.video.resolve())
    if args.user:
        require_login(server, factory, args.user, args.password or "")
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"rtsp server: cannot listen on {HOST}:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"rtsp server: ready on rtsp://{HOST}:{args.port}{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
