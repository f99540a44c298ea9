"""An index on each job's runs, newest first: a job's view shows its latest runs, and the jobs list
can be filtered by the state of each job's latest run. Both had ranked every run of the job (or of
every job): 53 ms for a job of 100,000 runs on PostgreSQL, 92 ms on SQLite, growing with the job's
history. Placeholder runs (parents known only by their children's events) are not shown, so not
indexed.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

INDEX = "ix_ol_catalog_run_newest"
COLUMNS = [
    "job_id",
    sa.text("coalesce(started_at, first_event_at) DESC"),
    sa.text("run_id DESC"),
    sa.text("id DESC"),
]


def upgrade() -> None:
    op.create_index(
        INDEX,
        "ol_catalog_run",
        COLUMNS,
        postgresql_where=sa.text("placeholder IS false"),
        sqlite_where=sa.text("placeholder IS 0"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="ol_catalog_run")
