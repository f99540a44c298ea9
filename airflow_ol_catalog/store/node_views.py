"""Job and dataset views kept in the database for the nodes of lineage graphs (lineage/view_cache).

Each row is one job's or dataset's view as the API writes it (JSON), with the `view_stamp` of its
job or dataset row and the view generation (store/view_stamps) it was built under, and the version
of the package that built it: it is good while all three are unchanged (a new version may show
more, or show it otherwise), and rows that no longer are stay until that view is built again. A
row only ever moves forward: a view built under an older stamp or generation than the stored one
(two processes building the same view while a write lands) does not replace it.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql

from airflow_ol_catalog import __version__
from airflow_ol_catalog.store.sql import execute, in_list, insert_on_conflict, list_value
from airflow_ol_catalog.store.tables import node_view


class StoredView(NamedTuple):
    entity_id: int
    view_stamp: int
    generation: int
    temporary: bool
    body: bytes  # JSON (stored as text: PostgreSQL would send bytes hex-encoded)


def stored_views(conn: Connection, kind: str, ids: Collection[int]) -> dict[int, StoredView]:
    """The stored views of these jobs or datasets (`kind` JOB or DATASET) that this version made, by id, good or not."""
    if not ids:
        return {}
    dialect = conn.dialect.name
    found = execute(conn, _stored(dialect), {"kind": kind, "ids": list_value(dialect, ids), "made_by": __version__})
    return {r[0]: StoredView(r[0], r[1], r[2], bool(r[3]), r[4].encode()) for r in found}  # SQLite's 0 or 1


@functools.cache
def _stored(dialect: str) -> Select[Any]:
    """Built once (a lineage graph reads its views in a few batches of hundreds). On PostgreSQL the
    ids are joined, so that each is one look-up in the key: `entity_id = ANY(...)` lets the planner
    read every view of the kind and filter them, which it did whenever the table's statistics were
    older than its rows (views come and go in thousands at a time)."""
    columns = (node_view.c[c] for c in StoredView._fields)
    if dialect == "postgresql":
        wanted = (
            func.unnest(bindparam("ids", type_=postgresql.ARRAY(Integer)))
            .table_valued("id")
            .render_derived(name="wanted")
        )
        keyed = and_(node_view.c.kind == bindparam("kind"), node_view.c.entity_id == wanted.c.id)
        return select(*columns).join_from(node_view, wanted, keyed).where(node_view.c.made_by == bindparam("made_by"))
    return select(*columns).where(
        node_view.c.kind == bindparam("kind"),
        in_list(dialect, node_view.c.entity_id, "ids"),
        node_view.c.made_by == bindparam("made_by"),
    )


def store_views(conn: Connection, kind: str, views: Collection[StoredView]) -> None:
    """Insert or replace these views, each unless the one stored was built under a later stamp or
    generation by this version. Rows are written in id order, as every writer writes them (PostgreSQL
    would otherwise find two writers of overlapping views waiting for each other)."""
    if not views:
        return
    upsert = insert_on_conflict(conn, node_view)
    new = upsert.excluded
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[node_view.c.kind, node_view.c.entity_id],
            set_={c: new[c] for c in ("view_stamp", "generation", "temporary", "body", "made_by")},
            where=or_(
                node_view.c.made_by != new.made_by,
                node_view.c.generation < new.generation,
                and_(node_view.c.generation == new.generation, node_view.c.view_stamp <= new.view_stamp),
            ),
        ),
        [
            {"kind": kind, **v._asdict(), "body": v.body.decode(), "made_by": __version__}
            for v in sorted(views, key=lambda v: v.entity_id)
        ],
    )


def forget_views(conn: Connection) -> int:
    """Remove every stored view (they are built again when next read); returns how many there were."""
    return conn.execute(node_view.delete()).rowcount
