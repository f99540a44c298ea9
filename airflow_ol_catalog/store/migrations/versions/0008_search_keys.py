"""Search keys: dataset and job names, and the field names of schemas, folded for search.

Names are kept as sent, so two spellings that look alike (NFC and NFD, a zero-width space) are
two datasets. Search matches a folded key (events/naming.fold: invisible characters removed,
NFKC, case folded) that the projection writes with every row; this fills it for rows stored
before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from airflow_ol_catalog.events.naming import fields_search_key, search_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHUNK = 5000


def _fill_names(table_name: str) -> None:
    table = sa.table(
        table_name,
        sa.column("id", sa.Integer),
        sa.column("namespace", sa.Text),
        sa.column("name", sa.Text),
        sa.column("search_key", sa.Text),
    )
    conn = op.get_bind()
    fill = sa.update(table).where(table.c.id == sa.bindparam("p_id")).values(search_key=sa.bindparam("p_key"))
    last = None
    while True:
        query = sa.select(table.c.id, table.c.namespace, table.c.name).order_by(table.c.id).limit(CHUNK)
        rows = conn.execute(query if last is None else query.where(table.c.id > last)).all()
        if not rows:
            return
        conn.execute(fill, [{"p_id": r.id, "p_key": search_key(r.namespace, r.name)} for r in rows])
        last = rows[-1].id


def _fill_schemas() -> None:
    facet = sa.table(
        "ol_catalog_facet",
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.BigInteger),
        sa.column("name", sa.Text),
        sa.column("value", sa.Text),
        sa.column("search_key", sa.Text),
    )
    conn = op.get_bind()
    schema = sa.and_(facet.c.entity == "dataset", facet.c.name == "schema")
    fill = (
        sa.update(facet)
        .where(schema, facet.c.entity_id == sa.bindparam("p_id"))
        .values(search_key=sa.bindparam("p_key"))
    )
    last = None
    while True:
        query = (
            sa.select(facet.c.entity_id, facet.c.value)
            .where(schema, facet.c.value.is_not(None))
            .order_by(facet.c.entity_id)
            .limit(CHUNK)
        )
        rows = conn.execute(query if last is None else query.where(facet.c.entity_id > last)).all()
        if not rows:
            return
        keys = [{"p_id": r.entity_id, "p_key": fields_search_key(json.loads(r.value))} for r in rows]
        conn.execute(fill, keys)
        last = rows[-1].entity_id


def upgrade() -> None:
    for table_name in ("ol_catalog_dataset", "ol_catalog_job"):
        with op.batch_alter_table(table_name) as batch:
            batch.add_column(sa.Column("search_key", sa.Text(), nullable=True))
        _fill_names(table_name)
        with op.batch_alter_table(table_name) as batch:
            batch.alter_column("search_key", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("ol_catalog_facet") as batch:
        batch.add_column(sa.Column("search_key", sa.Text(), nullable=True))
    _fill_schemas()


def downgrade() -> None:
    for table_name in ("ol_catalog_facet", "ol_catalog_job", "ol_catalog_dataset"):
        with op.batch_alter_table(table_name) as batch:
            batch.drop_column("search_key")
