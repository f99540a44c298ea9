"""A function PostgreSQL's write path calls when a dataset it read without a lock was made an
alias of another meanwhile: it fails the transaction as a serialization failure (SQLSTATE
40001), which the writer runs again (ingest/projection.py `dataset_touch`). SQLite has one
writer at a time and needs none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FUNCTION = "ol_catalog_dataset_alias_changed"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'a dataset this transaction read became an alias of another meanwhile' "
        "USING ERRCODE = 'serialization_failure'; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
