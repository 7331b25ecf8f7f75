"""Alembic environment shared by both migration chains; driven by ``appliance.store.migrate``."""

from __future__ import annotations

from alembic import context

from appliance.store.migrate import run_in_context

run_in_context(context.config)
