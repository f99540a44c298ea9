"""The flows `lineage` facets state into and out of a job or a dataset, as stated: the other end
(a dataset's column, or all of it; a job), the transformations, the job whose events stated it
and the runs it was bound to, and whether a JobEvent declared it or a run observed it; and the
runs a job waits for or starts (`jobDependencies`), with their rules."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from airflow_ol_catalog.events.node_ids import DATASET, JOB, format_node_id
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.graph import resolve_node
from airflow_ol_catalog.store.sql import among
from airflow_ol_catalog.store.tables import dataset, flow, job

FLOW_KINDS = (JOB, DATASET)  # what flows are listed for


def stated_flows(conn: Connection, node_id: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Flows into the node, then out of it, each sorted by the other end; hidden ends left out."""
    node, found = resolve_node(conn, node_id, FLOW_KINDS, namespace)
    me = ("job" if node.kind == JOB else "dataset", found)
    rows = conn.execute(
        select(flow).where(
            or_(
                and_(flow.c.target_kind == me[0], flow.c.target_id == me[1]),
                and_(flow.c.source_kind == me[0], flow.c.source_id == me[1]),
            )
        )
    ).all()
    wanted: dict[str, set[int]] = {"job": set(), "dataset": set()}
    for r in rows:
        wanted[r.source_kind].add(r.source_id)
        wanted[r.target_kind].add(r.target_id)
        if r.job_id is not None:
            wanted["job"].add(r.job_id)
    names = {
        (kind, row.id): (row.namespace, row.name)
        for kind, table in (("job", job), ("dataset", dataset))
        if wanted[kind]
        for row in conn.execute(
            select(table.c.id, table.c.namespace, table.c.name).where(
                among(conn.dialect.name, table.c.id, wanted[kind]), table.c.deleted_at.is_(None)
            )
        )
    }
    into: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for r in rows:
        source, target = names.get((r.source_kind, r.source_id)), names.get((r.target_kind, r.target_id))
        if source is None or target is None:
            continue
        stated_by = names.get(("job", r.job_id)) if r.job_id is not None else None
        detail = json.loads(r.detail)
        view = {
            "relation": r.relation,
            "source": _end(r.source_kind, source, r.source_field, r.source_run_id),
            "target": _end(r.target_kind, target, r.target_field, r.target_run_id),
            "transformations": [{**t, "subtype": t["subtype"] or None} for t in detail] if r.relation == "data" else [],
            "rules": detail if r.relation == "control" else None,
            "statedBy": {"namespace": stated_by[0], "name": stated_by[1]} if stated_by else None,
            "declared": r.declared,
            "observed": r.observed,
            "firstSeenAt": iso(r.first_seen_at),
            "lastSeenAt": iso(r.last_seen_at),
        }
        (into if (r.target_kind, r.target_id) == me else out).append(view)
    into.sort(key=lambda f: (f["source"]["id"], f["source"]["field"] or "", f["target"]["field"] or "", f["relation"]))
    out.sort(key=lambda f: (f["target"]["id"], f["target"]["field"] or "", f["source"]["field"] or "", f["relation"]))
    return into + out


def _end(kind: str, name: tuple[str, str], field: str, run_id: str | None) -> dict[str, Any]:
    node_kind = JOB if kind == "job" else DATASET
    return {
        "id": format_node_id(node_kind, *name),
        "type": kind.upper(),
        "namespace": name[0],
        "name": name[1],
        "field": field or None,
        "runId": run_id,
    }
