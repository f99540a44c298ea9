"""On PostgreSQL the event log becomes a table partitioned by event time, one partition a month
(store/partitions.py), so that retention drops old months whole. SQLite keeps its table.

The events move with their ids, and the id sequence stays. A partitioned table's keys must hold
the partition's column: the primary key becomes (id, event_time), which still finds an event by
id alone; duplicates were already recognised by (event_time, digest). Months with events in the
last ten years get a partition, as do the current month and the next ones; events of other times
go to the default partition. The indexes are built after the rows are in, which is faster.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import op
from sqlalchemy import text

from airflow_ol_catalog.store.partitions import AHEAD, OTHER, PARENT, Month

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FLAT = f"{PARENT}_unpartitioned"
YEARS_BACK = 10
INDEXES = (  # (name, column list) of the log's secondary indexes
    ("ix_ol_catalog_event_namespace", "namespace"),
    ("ix_ol_catalog_event_run_id", "run_id"),
)
UNIQUE = ("uq_ol_catalog_event_event_time_digest", "event_time, digest")


def _move_aside() -> None:
    """Rename the log and drop its keys and indexes, whose names the new table takes."""
    op.execute(f"ALTER TABLE {PARENT} RENAME TO {FLAT}")
    op.execute(f"ALTER TABLE {FLAT} DROP CONSTRAINT pk_ol_catalog_event, DROP CONSTRAINT {UNIQUE[0]}")
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX {name}")


def _keys(primary_key: str) -> None:
    op.execute(
        f"ALTER TABLE {PARENT} ADD CONSTRAINT pk_ol_catalog_event PRIMARY KEY ({primary_key}), "
        f"ADD CONSTRAINT {UNIQUE[0]} UNIQUE ({UNIQUE[1]})"
    )
    for name, columns in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {PARENT} ({columns})")


def _take_rows_and_sequence() -> None:
    op.execute(f"INSERT INTO {PARENT} SELECT * FROM {FLAT}")
    op.execute(f"ALTER SEQUENCE {PARENT}_id_seq OWNED BY {PARENT}.id")
    op.execute(f"DROP TABLE {FLAT}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _move_aside()
    op.execute(
        f"CREATE TABLE {PARENT} (LIKE {FLAT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE) "
        "PARTITION BY RANGE (event_time)"
    )
    op.execute(f"CREATE TABLE {OTHER} PARTITION OF {PARENT} DEFAULT")
    now = datetime.now(timezone.utc)
    soon = Month.of(now).following(AHEAD)
    seen = bind.execute(
        text(
            f"SELECT DISTINCT date_trunc('month', event_time AT TIME ZONE 'UTC') FROM {FLAT} "
            "WHERE event_time >= :since AND event_time < :until"
        ),
        {"since": now - timedelta(days=366 * YEARS_BACK), "until": Month.of(now).end},
    ).scalars()
    for month in sorted({Month.of(start.replace(tzinfo=timezone.utc)) for start in seen} | set(soon)):
        op.execute(f"CREATE TABLE {month.table} PARTITION OF {PARENT} FOR VALUES {month.bounds}")
    _take_rows_and_sequence()
    _keys("id, event_time")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _move_aside()
    op.execute(f"CREATE TABLE {PARENT} (LIKE {FLAT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)")
    _take_rows_and_sequence()  # the partitions go with the partitioned table
    _keys("id")
