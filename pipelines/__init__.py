"""Pure analytics stages: numpy in, dataclasses out; no network, no database."""
