"""Flows that `lineage` facets state, between datasets and jobs (job to job included), and the
control flow between jobs that `jobDependencies` facets state.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
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
        "ol_catalog_flow",
        sa.Column("source_kind", sa.String(7), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_field", sa.Text(), nullable=False),
        sa.Column("target_kind", sa.String(7), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("target_field", sa.Text(), nullable=False),
        sa.Column("relation", sa.String(8), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("source_run_id", sa.Text(), nullable=True),
        sa.Column("target_run_id", sa.Text(), nullable=True),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("observed", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "source_kind",
            "source_id",
            "source_field",
            "target_kind",
            "target_id",
            "target_field",
            "relation",
            name="pk_ol_catalog_flow",
        ),
    )
    op.create_index("ix_ol_catalog_flow_target_kind_target_id", "ol_catalog_flow", ["target_kind", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_flow_target_kind_target_id", table_name="ol_catalog_flow")
    op.drop_table("ol_catalog_flow")
