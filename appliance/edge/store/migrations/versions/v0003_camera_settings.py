"""Camera settings changed through the API (thresholds, zones, budget), kept across restarts.

Revision ID: edge_0003
Revises: edge_0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "edge_0003"
down_revision = "edge_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_settings",
        sa.Column("camera_id", sa.String(64), primary_key=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("camera_settings")
