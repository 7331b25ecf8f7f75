"""When each event was confirmed: the capture time of the frame that first stored it.

Revision ID: edge_0004
Revises: edge_0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "edge_0004"
down_revision = "edge_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: events stored before this revision never recorded it.
    op.add_column("events", sa.Column("confirmed_at", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "confirmed_at")
