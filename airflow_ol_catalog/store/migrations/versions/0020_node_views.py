"""Job and dataset views kept in the database for lineage graphs, written as the API writes them, so
that a graph's first request in any API-server process reads them instead of building them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ol_catalog_node_view",
        sa.Column("kind", sa.String(7), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("view_stamp", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("temporary", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("kind", "entity_id", name="pk_ol_catalog_node_view"),
    )


def downgrade() -> None:
    op.drop_table("ol_catalog_node_view")
