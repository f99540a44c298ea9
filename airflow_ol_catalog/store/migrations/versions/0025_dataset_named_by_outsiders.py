"""A dataset remembers whether only tokens limited to other namespaces have named it: such a
sender may say that its job read or wrote the dataset, not what the dataset is, and its sightings
no longer choose the namespace's spelling the dataset is shown with or its first sighting once
another sender names it. Existing datasets count as named by others.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ol_catalog_dataset",
        sa.Column("named_by_outsiders", sa.Boolean(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("ol_catalog_dataset") as batch:
        batch.drop_column("named_by_outsiders")
