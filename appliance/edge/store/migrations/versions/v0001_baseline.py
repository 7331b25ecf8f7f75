"""Baseline: the tables the edge store had before migrations (then made by create_all).

Revision ID: edge_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "edge_0001"
down_revision = None
branch_labels = None
depends_on = None

# BIGINT ids on PostgreSQL; SQLite needs exactly INTEGER PRIMARY KEY for its rowid.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("last_frame_at", sa.Double()),
        sa.Column("frames_received", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(16)),
        sa.Column("state_since", sa.Double()),
        sa.Column("state_detail", sa.String(500)),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("camera_id", sa.String(64), sa.ForeignKey("cameras.id"), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("last_seen_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double()),
        sa.Column("best_confidence", sa.Double(), nullable=False),
        sa.Column("best_x1", sa.Double(), nullable=False),
        sa.Column("best_y1", sa.Double(), nullable=False),
        sa.Column("best_x2", sa.Double(), nullable=False),
        sa.Column("best_y2", sa.Double(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.String(512)),
        sa.Column("zones", sa.String(1000), nullable=False, server_default=","),
    )
    op.create_index("ix_events_camera_id", "events", ["camera_id"])
    op.create_index("ix_events_label", "events", ["label"])
    op.create_index("ix_events_started_at", "events", ["started_at"])
    op.create_table(
        "frames",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), sa.ForeignKey("cameras.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("jpeg_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("filter_score", sa.Double()),
        sa.Column("detection_count", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "camera_id", "seq", "captured_at", name="uq_frames_camera_seq_captured"
        ),
    )
    op.create_index("ix_frames_camera_id", "frames", ["camera_id"])
    op.create_table(
        "detections",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "frame_id", ROW_ID, sa.ForeignKey("frames.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("x1", sa.Double(), nullable=False),
        sa.Column("y1", sa.Double(), nullable=False),
        sa.Column("x2", sa.Double(), nullable=False),
        sa.Column("y2", sa.Double(), nullable=False),
        sa.Column("track_id", sa.Integer()),
    )
    op.create_index("ix_detections_frame_id", "detections", ["frame_id"])
    op.create_index("ix_detections_camera_id", "detections", ["camera_id"])


def downgrade() -> None:
    for table in ("detections", "frames", "events", "cameras"):
        op.drop_table(table)
