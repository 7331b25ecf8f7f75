"""The edge box: its assembly (box), config, scheduler, per-camera analysis, detector, store,
outbox to the cloud, site uplink, stats, and its HTTP routes (http/). See docs/architecture.md."""
