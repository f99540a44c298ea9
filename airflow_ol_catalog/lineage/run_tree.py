"""A run's whole tree: the runs above it (its parent, the parent's parent ...) up to the first run
of the tree, and every run below that one. An Airflow DAG run, its task runs, and the Spark or dbt
runs those tasks started are one tree.

Runs are linked by their `parent` facets (run.parent_run_pk). A producer that skips a level (a Spark
job whose parent is a task run that sent no events of its own) can still name the first run of the
tree in `root` (ParentRunFacet 1-1-0): the topmost run reached through parents is then shown under
that root. Walking stops at `limit` runs; the answer says when it did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.run_states import TERMINAL_RANK, RunState
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.catalog import facets_of, run_row
from airflow_ol_catalog.store.sql import AnyRow, among
from airflow_ol_catalog.store.tables import job, run

_DEPTH = 50  # parents followed at most: trees are a few levels deep; this bounds a cycle

_COLUMNS = (
    run.c.id,
    run.c.run_id,
    run.c.parent_run_pk,
    run.c.state,
    run.c.state_rank,
    run.c.started_at,
    run.c.ended_at,
    run.c.placeholder,
    job.c.namespace,
    job.c.name,
)


def _runs(conn: Connection, where: Any) -> list[AnyRow]:
    return list(
        conn.execute(select(*_COLUMNS).join(job, job.c.id == run.c.job_id).where(where, job.c.deleted_at.is_(None)))
    )


def _root_run(conn: Connection, named: dict[str, Any]) -> AnyRow | None:
    found = _runs(
        conn,
        (run.c.run_id == named["runId"])
        & (job.c.namespace == named["job"]["namespace"])
        & (job.c.name == named["job"]["name"]),
    )
    return found[0] if found else None


def run_tree(conn: Connection, run_id: str, limit: int) -> dict[str, Any]:
    me = run_row(conn, run_id)
    dialect = conn.dialect.name
    chain = _runs(conn, run.c.id == me.id)
    seen = {me.id}
    while len(chain) <= _DEPTH and chain[-1].parent_run_pk is not None and chain[-1].parent_run_pk not in seen:
        above = _runs(conn, run.c.id == chain[-1].parent_run_pk)
        if not above:
            break
        chain.append(above[0])
        seen.add(above[0].id)
    top = chain[-1]
    parent_of: dict[int, int | None] = {r.id: r.parent_run_pk for r in chain}
    named_root = reading.root(facets_of(conn, "run", [me.id])[me.id])
    root_unseen = None
    if named_root is not None:
        stored = _root_run(conn, named_root)
        if stored is None:
            root_unseen = named_root
        elif stored.id not in seen:
            parent_of[top.id] = stored.id  # the producer's word: the root is above the topmost parent
            top = stored
    rows = {r.id: r for r in chain}
    rows[top.id] = top
    level, walked, truncated = [top.id], {top.id}, False
    while level and not truncated:
        children = [r for r in _runs(conn, among(dialect, run.c.parent_run_pk, level)) if r.id not in walked]
        below = [r for r in children if r.id not in rows]  # runs of the chain are there already
        if len(rows) + len(below) > limit:
            below, truncated = below[: max(limit - len(rows), 0)], True
            children = [r for r in children if r.id in rows] + below
        for r in below:
            rows[r.id] = r
            parent_of[r.id] = r.parent_run_pk
        level = [r.id for r in children]
        walked.update(level)
    by_pk = {pk: r.run_id for pk, r in rows.items()}
    ordered = sorted(rows.values(), key=lambda r: (r.started_at is None, iso(r.started_at) or "", r.run_id))
    return {
        "runId": me.run_id,
        "rootRunId": top.run_id,
        "rootNotSeen": root_unseen,
        "truncated": truncated,
        "runs": [_node(r, None if r.id == top.id else by_pk.get(parent_of.get(r.id) or -1)) for r in ordered],
    }


def _node(r: AnyRow, parent_run_id: str | None) -> dict[str, Any]:
    ended = r.ended_at if r.state_rank == TERMINAL_RANK else None
    return {
        "runId": r.run_id,
        "parentRunId": parent_run_id,
        "job": {"namespace": r.namespace, "name": r.name},
        "state": RunState.of(r.state).value,
        "startedAt": iso(r.started_at),
        "endedAt": iso(ended),
        "durationMs": int((ended - r.started_at).total_seconds() * 1000) if ended and r.started_at else None,
        "placeholder": r.placeholder,
    }
