"""An index on the datasets that are aliases of another: each dataset's view names its aliases,
which read every dataset without it (150 ms a graph of 40 nodes in a catalog of 1,000,000
datasets). Few datasets are aliases, so only they are indexed.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEX = "ix_ol_catalog_dataset_alias_of"
ALIASES = sa.text("alias_of IS NOT NULL")


def upgrade() -> None:
    op.create_index(INDEX, "ol_catalog_dataset", ["alias_of"], postgresql_where=ALIASES, sqlite_where=ALIASES)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="ol_catalog_dataset")
