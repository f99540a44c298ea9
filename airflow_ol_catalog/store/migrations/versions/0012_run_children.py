"""An index on each run's parent, to find a run's children (the run tree) and to unlink the children
of runs that retention deletes without scanning every run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ol_catalog_run_parent_run_pk", "ol_catalog_run", ["parent_run_pk"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_run_parent_run_pk", table_name="ol_catalog_run")
