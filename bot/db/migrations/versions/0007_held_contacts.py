"""Call-back contacts held between the question and the person's consent.

The conversation store keeps only masked text, so a phone number or e-mail address
the person gives waits here until they agree to be contacted (it then moves to the
request) or decline (it is deleted). Held contacts older than a day are deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_contacts",
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_held_contacts"),
    )


def downgrade() -> None:
    op.drop_table("held_contacts")
