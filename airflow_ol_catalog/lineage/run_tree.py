"""A run's whole tree: the first run of the tree, and every run below it. An Airflow DAG run, its
task runs, and the Spark or dbt runs those tasks started are one tree.

Runs are linked by their `parent` facets (run.parent_run_pk). A producer that skips a level (a
Spark job whose parent is a task run that sent no events of its own) names the first run of the
tree in `root` (ParentRunFacet 1-1-0), kept as run.root_run_pk: the walk goes up through parents
to the topmost run, then to the root that run or one below it names; it comes down through
children and through the runs that name that root, each with the parents that lead up to it. A
run whose topmost parent names no parent of its own is shown under the root it names; nothing of
this is stored, so what the tree shows never depends on the order events arrived in.

The parents are read whole, in one query, so the answer always names the first run; walking down
stops at `limit` runs (the answer says so), every query bounded by what is left.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from airflow_ol_catalog.events.run_states import RunState
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.catalog import run_end, run_row
from airflow_ol_catalog.store.sql import AnyRow, among
from airflow_ol_catalog.store.tables import job, run

_COLUMNS = (
    run.c.id,
    run.c.run_id,
    run.c.parent_run_pk,
    run.c.root_run_pk,
    run.c.state,
    run.c.state_rank,
    run.c.started_at,
    run.c.ended_at,
    run.c.placeholder,
    job.c.namespace,
    job.c.name,
)


def _runs(conn: Connection, where: ColumnElement[bool], limit: int | None = None) -> list[AnyRow]:
    """Runs of live jobs (a hidden job's runs are not shown, nor walked through)."""
    query = select(*_COLUMNS).join(job, job.c.id == run.c.job_id).where(where, job.c.deleted_at.is_(None))
    return list(conn.execute(query.order_by(run.c.id).limit(limit) if limit is not None else query))


def _up(conn: Connection, start: AnyRow, rows: dict[int, AnyRow]) -> AnyRow:
    """Walk from `start` up its parents (adding them to `rows`) until the top, a run seen already (a
    cycle), or a parent whose job is hidden (or that retention deleted); returns the topmost one
    reached. The chain is read in one query however long it is (UNION stops at a cycle)."""
    if start.parent_run_pk is None or start.parent_run_pk in rows:
        return start
    chain = select(run.c.id, run.c.parent_run_pk).where(run.c.id == start.parent_run_pk).cte("chain", recursive=True)
    above = run.alias("above")
    chain = chain.union(select(above.c.id, above.c.parent_run_pk).join(chain, above.c.id == chain.c.parent_run_pk))
    found = {r.id: r for r in _runs(conn, run.c.id.in_(select(chain.c.id)))}
    at = start
    while at.parent_run_pk is not None and at.parent_run_pk not in rows and at.parent_run_pk in found:
        at = rows.setdefault(at.parent_run_pk, found[at.parent_run_pk])
    return at


def run_tree(conn: Connection, run_id: str, limit: int, of_job: tuple[str, str] | None = None) -> dict[str, Any]:
    return tree_of(conn, run_row(conn, run_id, of_job).id, limit)


def tree_of(conn: Connection, me_pk: int, limit: int) -> dict[str, Any]:
    """The tree of the run stored in row `me_pk` (a run id names one run per job: the caller chose)."""
    dialect = conn.dialect.name
    (me,) = _runs(conn, run.c.id == me_pk)
    rows: dict[int, AnyRow] = {me.id: me}
    top = _up(conn, me, rows)
    chain = list(rows.values())
    # the root the nearest run of the chain names, when the chain does not reach it
    named_root = next((r.root_run_pk for r in chain if r.root_run_pk is not None), None)
    root = top
    if named_root is not None and named_root not in rows:
        found = _runs(conn, run.c.id == named_root)
        if found:
            root = rows.setdefault(found[0].id, found[0])
            root = _up(conn, root, rows)  # a root may have parents of its own
    shown_parent: dict[int, int | None] = {pk: r.parent_run_pk for pk, r in rows.items()}
    if root.id != top.id and top.parent_run_pk is None:
        shown_parent[top.id] = root.id  # the producer's word: the root is above the topmost parent
    walked: set[int] = set()
    while len(walked) < len(rows) and len(rows) <= limit:
        level = [pk for pk in rows if pk not in walked]
        walked.update(level)
        room = limit - len(rows) + 1  # one more than fits: enough to know the tree was cut
        found = _runs(conn, among(dialect, run.c.parent_run_pk, level), room + len(rows))
        if root.id in level:  # the runs that name the root, each with the parents leading up to it
            found += _runs(conn, run.c.root_run_pk == root.id, room + len(rows))
        tops = []
        for r in found:
            if r.id not in rows:
                rows[r.id] = r
                if r.root_run_pk == root.id:
                    tops.append(_up(conn, r, rows))
        for pk, r in rows.items():
            shown_parent.setdefault(pk, r.parent_run_pk)
        for above in tops:
            if above.id != root.id and above.parent_run_pk is None:
                shown_parent[above.id] = root.id
    kept = _kept(rows, me.id, root.id, shown_parent, limit)
    ordered = sorted((rows[pk] for pk in kept), key=lambda r: (r.started_at is None, iso(r.started_at) or "", r.run_id))
    return {
        "runId": me.run_id,
        "rootRunId": root.run_id,
        "rootJob": {"namespace": root.namespace, "name": root.name},
        "truncated": len(kept) < len(rows),
        "runs": [_node(r, _shown(r, root, rows, shown_parent, kept)) for r in ordered],
    }


def _shown(
    r: AnyRow, root: AnyRow, rows: dict[int, AnyRow], parent: dict[int, int | None], kept: set[int]
) -> AnyRow | None:
    """The parent a run is shown under: none for the root, or when that parent is not in the answer."""
    above = parent.get(r.id)
    return rows[above] if r.id != root.id and above is not None and above in kept else None


def _kept(rows: dict[int, AnyRow], me: int, root: int, parent: dict[int, int | None], limit: int) -> set[int]:
    """At most `limit` runs: the run asked about and the runs above it first, then the others."""
    kept: set[int] = set()
    at: int | None = me
    while at is not None and at in rows and at not in kept and len(kept) < limit:
        kept.add(at)
        at = parent.get(at)
    for pk in [root, *rows]:
        if len(kept) >= limit:
            break
        kept.add(pk)
    return kept


def _node(r: AnyRow, parent: AnyRow | None) -> dict[str, Any]:
    ended, duration_ms = run_end(r)
    return {
        "runId": r.run_id,
        "job": {"namespace": r.namespace, "name": r.name},
        "parentRunId": parent.run_id if parent is not None else None,
        "parentJob": {"namespace": parent.namespace, "name": parent.name} if parent is not None else None,
        "state": RunState.of(r.state).value,
        "startedAt": iso(r.started_at),
        "endedAt": iso(ended),
        "durationMs": duration_ms,
        "placeholder": r.placeholder,
    }
