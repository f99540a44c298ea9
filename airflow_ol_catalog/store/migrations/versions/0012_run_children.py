"""Run trees: each run's root (the first run of its tree, as `root` in its parent facet names it),
and indexes on a run's parent and root, to find a run's children and the runs of a tree (and to
unlink them when retention deletes runs) without scanning every run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ol_catalog_run", sa.Column("root_run_pk", sa.BigInteger(), nullable=True))
    op.create_index("ix_ol_catalog_run_parent_run_pk", "ol_catalog_run", ["parent_run_pk"])
    op.create_index("ix_ol_catalog_run_root_run_pk", "ol_catalog_run", ["root_run_pk"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_run_root_run_pk", table_name="ol_catalog_run")
    op.drop_index("ix_ol_catalog_run_parent_run_pk", table_name="ol_catalog_run")
    with op.batch_alter_table("ol_catalog_run") as batch_op:
        batch_op.drop_column("root_run_pk")
