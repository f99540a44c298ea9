"""The catalog projected from the event log: jobs, runs, datasets, edges, facets, versions, column lineage.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

TIME = sa.DateTime(timezone=True)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ol_catalog_column_lineage",
        sa.Column("output_dataset_id", sa.Integer(), nullable=False),
        sa.Column("output_field", sa.Text(), nullable=False),
        sa.Column("input_dataset_id", sa.Integer(), nullable=False),
        sa.Column("input_field", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("subtype", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("masking", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "output_dataset_id",
            "output_field",
            "input_dataset_id",
            "input_field",
            "type",
            "subtype",
            name=op.f("pk_ol_catalog_column_lineage"),
        ),
    )
    with op.batch_alter_table("ol_catalog_column_lineage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ol_catalog_column_lineage_input_dataset_id"), ["input_dataset_id"], unique=False
        )

    op.create_table(
        "ol_catalog_dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("deleted_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_catalog_dataset")),
        sa.UniqueConstraint("namespace_key", "name", name=op.f("uq_ol_catalog_dataset_namespace_key_name")),
    )
    op.create_table(
        "ol_catalog_dataset_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("first_run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_catalog_dataset_version")),
        sa.UniqueConstraint("dataset_id", "digest", name=op.f("uq_ol_catalog_dataset_version_dataset_id_digest")),
    )
    op.create_table(
        "ol_catalog_edge",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("last_run_id", sa.Text(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "dataset_id", "direction", name=op.f("pk_ol_catalog_edge")),
    )
    with op.batch_alter_table("ol_catalog_edge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ol_catalog_edge_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "ol_catalog_facet",
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("event_time", TIME, nullable=False),
        sa.Column("event_digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("entity", "entity_id", "name", name=op.f("pk_ol_catalog_facet")),
    )
    op.create_table(
        "ol_catalog_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_job_id", sa.Integer(), nullable=True),
        sa.Column("placeholder", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("deleted_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_catalog_job")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_ol_catalog_job_namespace_name")),
    )
    op.create_table(
        "ol_catalog_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=True),
        sa.Column("state_rank", sa.Integer(), nullable=False),
        sa.Column("state_time", TIME, nullable=True),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("parent_run_pk", sa.BigInteger(), nullable=True),
        sa.Column("placeholder", sa.Boolean(), nullable=False),
        sa.Column("first_event_at", TIME, nullable=True),
        sa.Column("last_event_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_catalog_run")),
        sa.UniqueConstraint("job_id", "run_id", name=op.f("uq_ol_catalog_run_job_id_run_id")),
    )
    with op.batch_alter_table("ol_catalog_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ol_catalog_run_run_id"), ["run_id"], unique=False)

    op.create_table(
        "ol_catalog_run_dataset",
        sa.Column("run_pk", sa.BigInteger(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "dataset_id", "direction", name=op.f("pk_ol_catalog_run_dataset")),
    )
    with op.batch_alter_table("ol_catalog_run_dataset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ol_catalog_run_dataset_dataset_id"), ["dataset_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ol_catalog_run_dataset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ol_catalog_run_dataset_dataset_id"))

    op.drop_table("ol_catalog_run_dataset")
    with op.batch_alter_table("ol_catalog_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ol_catalog_run_run_id"))

    op.drop_table("ol_catalog_run")
    op.drop_table("ol_catalog_job")
    op.drop_table("ol_catalog_facet")
    with op.batch_alter_table("ol_catalog_edge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ol_catalog_edge_dataset_id"))

    op.drop_table("ol_catalog_edge")
    op.drop_table("ol_catalog_dataset_version")
    op.drop_table("ol_catalog_dataset")
    with op.batch_alter_table("ol_catalog_column_lineage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ol_catalog_column_lineage_input_dataset_id"))

    op.drop_table("ol_catalog_column_lineage")
