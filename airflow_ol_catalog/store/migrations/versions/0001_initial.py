"""Namespaces, ingest tokens and the append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ol_catalog_namespace",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("admins", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("event_count", sa.BigInteger, nullable=False),
        sa.Column("first_event_at", TIME),
        sa.Column("last_event_at", TIME),
        sa.Column("deleted_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_ol_catalog_namespace"),
        sa.UniqueConstraint("name", name="uq_ol_catalog_namespace_name"),
    )
    op.create_table(
        "ol_catalog_namespace_integration",
        sa.Column("namespace_id", sa.Integer, nullable=False),
        sa.Column("integration", sa.String(64), nullable=False),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "integration", name="pk_ol_catalog_namespace_integration"),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["ol_catalog_namespace.id"],
            name="fk_ol_catalog_namespace_integration_namespace_id",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "ol_catalog_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("namespaces", sa.Text),
        sa.Column("can_read", sa.Boolean, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("last_used_at", TIME),
        sa.Column("revoked_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_ol_catalog_token"),
        sa.UniqueConstraint("name", name="uq_ol_catalog_token_name"),
        sa.UniqueConstraint("prefix", name="uq_ol_catalog_token_prefix"),
    )
    op.create_table(
        "ol_catalog_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("event_time", TIME, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("event_type", sa.String(10)),
        sa.Column("producer", sa.Text, nullable=False),
        sa.Column("schema_url", sa.Text),
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text),
        sa.Column("job_name", sa.Text),
        sa.Column("dataset_namespace", sa.Text),
        sa.Column("dataset_name", sa.Text),
        sa.Column("token_id", sa.Integer),
        sa.Column("quarantined", sa.Boolean, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ol_catalog_event"),
        sa.UniqueConstraint("digest", name="uq_ol_catalog_event_digest"),
    )
    op.create_index("ix_ol_catalog_event_event_time", "ol_catalog_event", ["event_time"])
    op.create_index("ix_ol_catalog_event_namespace", "ol_catalog_event", ["namespace"])
    op.create_index("ix_ol_catalog_event_run_id", "ol_catalog_event", ["run_id"])


def downgrade() -> None:
    op.drop_table("ol_catalog_event")
    op.drop_table("ol_catalog_token")
    op.drop_table("ol_catalog_namespace_integration")
    op.drop_table("ol_catalog_namespace")
