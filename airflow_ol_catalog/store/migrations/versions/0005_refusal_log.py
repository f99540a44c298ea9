"""The log of refused ingestion requests.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ol_catalog_refusal",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("path", sa.String(250), nullable=False),
        sa.Column("caller", sa.String(250), nullable=True),
        sa.Column("remote", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ol_catalog_refusal"),
    )
    op.create_index("ix_ol_catalog_refusal_at", "ol_catalog_refusal", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_refusal_at", table_name="ol_catalog_refusal")
    op.drop_table("ol_catalog_refusal")
