"""Facets that broke their published schema, counted per producer and facet.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ol_catalog_facet_warning",
        sa.Column("producer", sa.Text(), nullable=False),
        sa.Column("facet", sa.String(128), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("example_path", sa.Text(), nullable=False),
        sa.Column("example_message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("producer", "facet", name="pk_ol_catalog_facet_warning"),
    )


def downgrade() -> None:
    op.drop_table("ol_catalog_facet_warning")
