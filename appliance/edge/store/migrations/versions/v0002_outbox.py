"""The cloud outbox, and frames indexed by camera and capture time (per-minute counts).

Revision ID: edge_0002
Revises: edge_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "edge_0002"
down_revision = "edge_0001"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("sent_at", sa.Double()),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "id"])
    op.create_index("ix_frames_camera_captured", "frames", ["camera_id", "captured_at"])


def downgrade() -> None:
    op.drop_index("ix_frames_camera_captured", "frames")
    op.drop_table("outbox")
