"""Dataset symlinks: the names a `symlinks` facet links, and the alias each name may be.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ol_catalog_dataset") as batch:
        batch.add_column(sa.Column("alias_of", sa.Integer(), nullable=True))
    op.create_table(
        "ol_catalog_dataset_symlink",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "target_id", name="pk_ol_catalog_dataset_symlink"),
    )
    op.create_index("ix_ol_catalog_dataset_symlink_target_id", "ol_catalog_dataset_symlink", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_dataset_symlink_target_id", table_name="ol_catalog_dataset_symlink")
    op.drop_table("ol_catalog_dataset_symlink")
    with op.batch_alter_table("ol_catalog_dataset") as batch:
        batch.drop_column("alias_of")
