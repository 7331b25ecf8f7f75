"""`appliance cloud`: run a cloud worker until SIGTERM or Ctrl-C, then print its counts."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any


def add_cloud_parser(roles: Any) -> None:
    cloud = roles.add_parser(
        "cloud", help="fleet ingest: MQTT shared subscription into PostgreSQL (idempotent)"
    )
    cloud.add_argument("--config", type=Path, default=Path("configs/cloud.yaml"))
    cloud.add_argument("--client-id", help="override client_id (one per worker)")
    cloud.set_defaults(handler=_cloud)


def _cloud(args: argparse.Namespace) -> int:
    from appliance.cloud.config import CloudWorkerConfig
    from appliance.cloud.ingest import CloudIngest
    from appliance.cloud.schema import CLOUD_MIGRATIONS
    from appliance.cloud.worker import CloudWorker
    from appliance.config_loader import load_config
    from appliance.edge.store import open_database

    config = load_config(args.config, CloudWorkerConfig)
    if args.client_id:
        config = config.model_copy(update={"client_id": args.client_id})
    database = open_database(config.database_url.get_secret_value(), CLOUD_MIGRATIONS)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        ingest = CloudIngest(database, config.topic_prefix, config.max_message_bytes)
        stats = CloudWorker(config, ingest).run(stop)
    finally:
        database.dispose()
    print(json.dumps(asdict(stats)), flush=True)
    return 0
