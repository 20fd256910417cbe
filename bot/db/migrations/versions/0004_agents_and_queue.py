"""Workers of the handoff console, and the queue states of handoff requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("languages", sa.String(60), nullable=False),
        sa.Column("region_codes", sa.String(120), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("username", name="uq_agents_username"),
    )
    # batch mode: SQLite adds a foreign key by copying the table
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("claimed_by", sa.Integer()))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("outcome", sa.String(30)))
        batch.add_column(sa.Column("notes", sa.Text()))
        batch.create_foreign_key(
            "fk_handoff_requests_claimed_by_agents", "agents", ["claimed_by"], ["id"]
        )
        batch.create_index("ix_handoff_requests_claimed_by", ["claimed_by"])


def downgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_index("ix_handoff_requests_claimed_by")
        batch.drop_constraint("fk_handoff_requests_claimed_by_agents", type_="foreignkey")
        for column in ("notes", "outcome", "ended_at", "claimed_at", "claimed_by"):
            batch.drop_column(column)
    op.drop_table("agents")
