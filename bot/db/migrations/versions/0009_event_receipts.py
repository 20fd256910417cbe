"""Receipts of the events the events worker stored, so a redelivered event is stored once.

RabbitMQ delivers at least once: a worker that stops between its commit and its
acknowledgement gets the event again, as does any other worker. Each event carries a
message id (a hash of its masked content); its receipt is written in the same
transaction as what the event holds. Receipts older than a week are deleted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_receipts",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_event_receipts"),
    )
    op.create_index("ix_event_receipts_received_at", "event_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_event_receipts_received_at", "event_receipts")
    op.drop_table("event_receipts")
