"""Cloud tables: events, counts, camera health and rejected messages of many sites.

Revision ID: cloud_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cloud_0001"
down_revision = None
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _record_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("record_id", sa.String(255), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "cloud_events",
        *_record_columns(),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("last_seen_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double()),
        sa.Column("confidence", sa.Double(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("x1", "y1", "x2", "y2")),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("zones", sa.String(7000), nullable=False),
        sa.Column("thumbnail", sa.Text()),
        sa.Column("received_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_cloud_events_event_id", "cloud_events", ["event_id"])
    op.create_index(
        "ix_cloud_events_site_camera_started", "cloud_events", ["site", "camera", "started_at"]
    )
    op.create_table(
        "cloud_counts",
        *_record_columns(),
        sa.Column("minute", sa.Double(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.Column("max_objects", sa.Integer(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
    )
    op.create_index(
        "ix_cloud_counts_site_camera_minute", "cloud_counts", ["site", "camera", "minute"]
    )
    op.create_table(
        "cloud_health",
        *_record_columns(),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", sa.Double(), nullable=False),
        sa.Column("detail", sa.String(500)),
        sa.Column("received_at", sa.Double(), nullable=False),
    )
    op.create_index(
        "ix_cloud_health_site_camera_since", "cloud_health", ["site", "camera", "since"]
    )
    op.create_table(
        "cloud_rejects",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("excerpt", sa.String(200), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_cloud_rejects_received_at", "cloud_rejects", ["received_at"])


def downgrade() -> None:
    for table in ("cloud_rejects", "cloud_health", "cloud_counts", "cloud_events"):
        op.drop_table(table)
