"""Requests to talk to a person, recorded by the bot for the handoff queue.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("topics", sa.String(200), nullable=False),
        sa.Column("municipality_code", sa.String(3)),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipalities.code"],
            name="fk_handoff_requests_municipality_code_municipalities",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_requests"),
    )
    op.create_index("ix_handoff_requests_conversation_id", "handoff_requests", ["conversation_id"])
    op.create_index(
        "ix_handoff_requests_state_created_at", "handoff_requests", ["state", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_handoff_requests_state_created_at", "handoff_requests")
    op.drop_index("ix_handoff_requests_conversation_id", "handoff_requests")
    op.drop_table("handoff_requests")
