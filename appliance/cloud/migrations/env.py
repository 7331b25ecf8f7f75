"""Alembic environment shared by both migration chains; run by ``appliance.edge.store.migrate``."""

from __future__ import annotations

from alembic import context

from appliance.edge.store.migrate import run_in_context

run_in_context(context.config)
