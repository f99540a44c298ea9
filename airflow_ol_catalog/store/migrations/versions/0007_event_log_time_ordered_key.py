"""The event log recognises duplicates by (event time, digest), in time order.

A duplicate has the same content, so the same event time: the pair finds exactly the duplicates
the digest alone found. Keyed by time first, the index grows at its end as events arrive instead
of at random places (a digest is a hash), so a commit writes a few of its pages instead of one
per event; it also serves the time-ordered listing, which had an index of its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ol_catalog_event_event_time", table_name="ol_catalog_event")
    with op.batch_alter_table("ol_catalog_event") as batch:
        batch.drop_constraint("uq_ol_catalog_event_digest", type_="unique")
        batch.create_unique_constraint("uq_ol_catalog_event_event_time_digest", ["event_time", "digest"])


def downgrade() -> None:
    with op.batch_alter_table("ol_catalog_event") as batch:
        batch.drop_constraint("uq_ol_catalog_event_event_time_digest", type_="unique")
        batch.create_unique_constraint("uq_ol_catalog_event_digest", ["digest"])
    op.create_index("ix_ol_catalog_event_event_time", "ol_catalog_event", ["event_time"])
