"""An index on facet names, so one facet across all entities (tags) is found without a scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ol_catalog_facet_name", "ol_catalog_facet", ["name"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_facet_name", table_name="ol_catalog_facet")
