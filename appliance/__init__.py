"""The edge box (`edge/`), the cloud worker, and the CLI with what runs beside the roles:
demo, benchmarks, model tools, Edgent planning, systemd services (docs/architecture.md)."""
