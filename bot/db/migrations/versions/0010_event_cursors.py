"""Where the events worker has come to in the tracker store's events.

A Rasa replica that is killed loses the events it had not yet published to
RabbitMQ; the conversation itself is whole in the tracker store. The events
worker reads the tracker store's ``events`` table behind the live stream and
stores what never arrived (``bot.conversations.recovery``); its place is kept
here so a restart goes on where it stopped.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_cursors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_event_cursors"),
    )


def downgrade() -> None:
    op.drop_table("event_cursors")
