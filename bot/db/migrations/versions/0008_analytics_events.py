"""The reports' stream: what conversations needed and found, without what anyone wrote.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_key", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("language", sa.String(2)),
        sa.Column("topic", sa.String(30)),
        sa.Column("municipality_code", sa.String(3)),
        sa.Column("region_code", sa.String(2)),
        sa.Column("support_form", sa.String(12)),
        sa.Column("results", sa.Integer()),
        sa.Column("nearest_km", sa.Float()),
        sa.Column("language_relaxed", sa.Boolean()),
        sa.Column("rating", sa.String(4)),
        sa.Column("comment", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_events"),
    )
    op.create_index("ix_analytics_events_timestamp", "analytics_events", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_analytics_events_timestamp", "analytics_events")
    op.drop_table("analytics_events")
