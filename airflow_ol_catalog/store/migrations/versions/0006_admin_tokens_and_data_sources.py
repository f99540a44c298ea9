"""Admin tokens (for the maintenance DAGs) and how datasets match Airflow's data sources.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ol_catalog_token") as batch:
        batch.add_column(sa.Column("can_admin", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "ol_catalog_data_source_match",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conn_id", sa.String(250), nullable=True),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("check_status", sa.String(16), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_ol_catalog_data_source_match"),
    )


def downgrade() -> None:
    op.drop_table("ol_catalog_data_source_match")
    with op.batch_alter_table("ol_catalog_token") as batch:
        batch.drop_column("can_admin")
