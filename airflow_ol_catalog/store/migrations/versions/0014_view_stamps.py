"""What the read path's cache of job and dataset views keys on: a stamp on each job and dataset,
bumped by every write that changes how the read API shows it, and one catalog-wide generation for
the writes whose effect crosses many of them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("ol_catalog_job", "ol_catalog_dataset"):
        op.add_column(table, sa.Column("view_stamp", sa.BigInteger(), nullable=False, server_default="0"))
    generation = op.create_table(
        "ol_catalog_view_generation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(generation, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("ol_catalog_view_generation")
    for table in ("ol_catalog_dataset", "ol_catalog_job"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("view_stamp")
