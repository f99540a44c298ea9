"""Tags people set on datasets, jobs and columns, apart from the tags `tags` facets name.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ol_catalog_tag",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(250), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ol_catalog_tag"),
    )
    op.create_table(
        "ol_catalog_tag_assignment",
        sa.Column("entity", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tagged_by", sa.String(250), nullable=False),
        sa.PrimaryKeyConstraint("entity", "entity_id", "field", "tag", name="pk_ol_catalog_tag_assignment"),
    )
    op.create_index("ix_ol_catalog_tag_assignment_tag", "ol_catalog_tag_assignment", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_ol_catalog_tag_assignment_tag", table_name="ol_catalog_tag_assignment")
    op.drop_table("ol_catalog_tag_assignment")
    op.drop_table("ol_catalog_tag")
