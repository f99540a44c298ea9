"""The event log's tally (store/event_tally.py): events per hour of arrival, owner namespace and
quarantine, counted once here from the log as it is, then kept by every write to the log.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLE = "ol_catalog_event_tally"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("namespace", sa.Text(), primary_key=True),
        sa.Column("quarantined", sa.Boolean(), primary_key=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        hour = "timezone('UTC', date_trunc('hour', timezone('UTC', received_at)))"
    else:  # times are kept as 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC
        hour = "strftime('%Y-%m-%d %H:00:00.000000', received_at)"
    op.execute(
        f"INSERT INTO {TABLE} (hour, namespace, quarantined, events, last_received_at) "
        f"SELECT {hour}, namespace, quarantined, count(*), max(received_at) FROM ol_catalog_event "
        f"GROUP BY {hour}, namespace, quarantined"
    )


def downgrade() -> None:
    op.drop_table(TABLE)
