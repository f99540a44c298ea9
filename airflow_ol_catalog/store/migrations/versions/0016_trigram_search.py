"""On PostgreSQL, search by part of a name uses trigram indexes (the `pg_trgm` extension), as
catalogs do: `LIKE '%orders%'` on the search keys of datasets, jobs and schema facets reads
the index instead of every row. SQLite keeps its scans.

`pg_trgm` ships with PostgreSQL and is trusted (PostgreSQL 13 and later): the owner of the
database may create it. Where it cannot be created (a managed service without it, a user
without the right), the migration says so and goes on: search still works, by scanning.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

INDEXES = (  # (index, table, predicate)
    ("ix_ol_catalog_dataset_search_trgm", "ol_catalog_dataset", ""),
    ("ix_ol_catalog_job_search_trgm", "ol_catalog_job", ""),
    ("ix_ol_catalog_facet_search_trgm", "ol_catalog_facet", " WHERE search_key IS NOT NULL"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as refused:
        log.warning(
            "pg_trgm could not be created (%s): search scans names instead of using trigram indexes "
            "(to have them, a superuser runs CREATE EXTENSION pg_trgm before this migration)",
            str(refused.orig).strip().splitlines()[0],
        )
        return
    for name, table, predicate in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (search_key gin_trgm_ops){predicate}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
