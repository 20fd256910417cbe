"""Call-back requests in the handoff queue, workers' presence, and the conversation event stream.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="chat"))
        batch.add_column(sa.Column("summary", sa.Text()))
        batch.add_column(sa.Column("contact_method", sa.String(10)))
        batch.add_column(sa.Column("contact_value", sa.String(200)))
        batch.add_column(sa.Column("consent_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True)))
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(120)),
        sa.Column("message_id", sa.String(64)),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_events"),
    )
    op.create_index(
        "ix_conversation_events_conversation_id_id",
        "conversation_events",
        ["conversation_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_events_conversation_id_id", "conversation_events")
    op.drop_table("conversation_events")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("handoff_requests") as batch:
        for column in ("consent_at", "contact_value", "contact_method", "summary", "kind"):
            batch.drop_column(column)
