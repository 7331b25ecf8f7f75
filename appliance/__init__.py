"""Edge box runtime: config, HTTP API, analysis, store, CLI."""
