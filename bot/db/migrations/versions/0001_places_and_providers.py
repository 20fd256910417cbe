"""Places (regions, municipalities) and providers with their forms, topics, languages and areas.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.String(2), nullable=False),
        sa.Column("name_fi", sa.String(80), nullable=False),
        sa.Column("name_sv", sa.String(80), nullable=False),
        sa.Column("name_en", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_regions"),
        sa.UniqueConstraint("name_fi", name="uq_regions_name_fi"),
    )
    op.create_table(
        "municipalities",
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("name_fi", sa.String(80), nullable=False),
        sa.Column("name_sv", sa.String(80), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name="fk_municipalities_region_code_regions"
        ),
        sa.PrimaryKeyConstraint("code", name="pk_municipalities"),
        sa.UniqueConstraint("name_fi", name="uq_municipalities_name_fi"),
    )
    op.create_index("ix_municipalities_region_code", "municipalities", ["region_code"])
    op.create_table(
        "providers",
        sa.Column("id", sa.String(120), nullable=False),
        sa.Column("name_fi", sa.String(300), nullable=False),
        sa.Column("name_sv", sa.String(300)),
        sa.Column("name_en", sa.String(300)),
        sa.Column("organisation", sa.String(300)),
        sa.Column("org_type", sa.String(20), nullable=False),
        sa.Column("municipality_code", sa.String(3), nullable=False),
        sa.Column("street_address", sa.String(300)),
        sa.Column("postal_code", sa.String(5)),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("location_is_municipality_centre", sa.Boolean(), nullable=False),
        sa.Column("opening_hours", sa.String(500)),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(254)),
        sa.Column("website", sa.String(500)),
        sa.Column("free_of_charge", sa.Boolean()),
        sa.Column("wheelchair_accessible", sa.Boolean()),
        sa.Column("booking_required", sa.Boolean()),
        sa.Column("description_fi", sa.Text()),
        sa.Column("description_sv", sa.Text()),
        sa.Column("description_en", sa.Text()),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipalities.code"],
            name="fk_providers_municipality_code_municipalities",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_providers"),
    )
    op.create_index("ix_providers_municipality_code", "providers", ["municipality_code"])
    op.create_index("ix_providers_active_lat_lon", "providers", ["active", "lat", "lon"])

    for table, column, length in (
        ("provider_support_forms", "form", 20),
        ("provider_topics", "topic", 20),
        ("provider_languages", "language", 3),
        ("provider_target_groups", "target_group", 20),
    ):
        op.create_table(
            table,
            sa.Column("provider_id", sa.String(120), nullable=False),
            sa.Column(column, sa.String(length), nullable=False),
            sa.ForeignKeyConstraint(
                ["provider_id"],
                ["providers.id"],
                name=f"fk_{table}_provider_id_providers",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("provider_id", column, name=f"pk_{table}"),
        )
        if table != "provider_target_groups":
            op.create_index(f"ix_{table}_{column}", table, [column, "provider_id"])

    op.create_table(
        "provider_service_areas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.String(120), nullable=False),
        sa.Column("scope", sa.String(12), nullable=False),
        sa.Column("region_code", sa.String(2)),
        sa.Column("municipality_code", sa.String(3)),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name="fk_provider_service_areas_provider_id_providers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name="fk_provider_service_areas_region_code_regions"
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipalities.code"],
            name="fk_provider_service_areas_municipality_code_municipalities",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_provider_service_areas"),
    )
    op.create_index(
        "ix_provider_service_areas_provider_id", "provider_service_areas", ["provider_id"]
    )
    for name, column in (
        ("scope", "scope"),
        ("region", "region_code"),
        ("municipality", "municipality_code"),
    ):
        op.create_index(
            f"ix_provider_service_areas_{name}", "provider_service_areas", [column, "provider_id"]
        )


def downgrade() -> None:
    for table in (
        "provider_service_areas",
        "provider_target_groups",
        "provider_languages",
        "provider_topics",
        "provider_support_forms",
        "providers",
        "municipalities",
        "regions",
    ):
        op.drop_table(table)
