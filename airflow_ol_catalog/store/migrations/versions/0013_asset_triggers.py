"""Asset events from observed lineage: the datasets whose writes Airflow should hear about, and
each write to one (once per producing run) until its Airflow asset event is made.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ol_catalog_asset_trigger",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("namespace_pattern", sa.String(1024), nullable=False),
        sa.Column("name_pattern", sa.String(1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.UniqueConstraint(
            "namespace_pattern", "name_pattern", name="uq_ol_catalog_asset_trigger_namespace_pattern_name_pattern"
        ),
    )
    op.create_table(
        "ol_catalog_asset_trigger_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("job_namespace", sa.Text(), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("partition_key", sa.String(250)),
        sa.Column("airflow_task", sa.Text()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        sa.Column("asset_ids", sa.Text()),
        sa.Column("asset_event_ids", sa.Text()),
        sa.UniqueConstraint("dataset_id", "run_id", name="uq_ol_catalog_asset_trigger_run_dataset_id_run_id"),
    )
    op.create_index("ix_ol_catalog_asset_trigger_run_state", "ol_catalog_asset_trigger_run", ["state"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_asset_trigger_run_state", table_name="ol_catalog_asset_trigger_run")
    op.drop_table("ol_catalog_asset_trigger_run")
    op.drop_table("ol_catalog_asset_trigger")
