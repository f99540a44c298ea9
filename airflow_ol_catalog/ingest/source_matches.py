"""Storing how catalog datasets match the data sources Airflow's Connections describe (the server side of
the reconcile DAG); lineage/source_matches.py reads them."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Connection, case, delete, select

from airflow_ol_catalog.events.datasources import DataSource, Match, match_dataset
from airflow_ol_catalog.store.datasets import holder_of
from airflow_ol_catalog.store.sql import insert_for, utcnow
from airflow_ol_catalog.store.tables import data_source_match, dataset, facet
from airflow_ol_catalog.store.view_stamps import bump_generation

BATCH = 1000


def _latest_fields(conn: Connection, dataset_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The fields of each dataset's newest schema facet (inputs carry schemas too, not only writes)."""
    fields: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(dataset_ids), BATCH):
        rows = conn.execute(
            select(facet.c.entity_id, facet.c.value).where(
                facet.c.entity == "dataset",
                facet.c.name == "schema",
                facet.c.entity_id.in_(dataset_ids[start : start + BATCH]),
            )
        )
        for r in rows:
            value = json.loads(r.value) if r.value else {}
            if isinstance(value.get("fields"), list):
                fields[r.entity_id] = value["fields"]
    return fields


def reconcile(conn: Connection, sources: list[DataSource], dry_run: bool) -> dict[str, Any]:
    """Match every dataset (aliases aside) to the data sources; store the results unless dry_run.

    Returns counts, the matched SQL datasets to check against their tables (with their latest
    lineage schema), and the unmatched and ambiguous namespaces with what could be done.
    """
    rows = conn.execute(
        select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(
            dataset.c.alias_of.is_(None), dataset.c.deleted_at.is_(None)
        )
    ).all()
    by_conn = {s.conn_id: s for s in sources}
    now = utcnow()
    counts: Counter[str] = Counter()
    results: list[dict[str, Any]] = []
    to_check: list[tuple[int, str, str, str]] = []
    namespaces: dict[tuple[str, str], Match] = {}
    for r in rows:
        found = match_dataset(r.namespace, r.name, sources)
        counts[found.status] += 1
        results.append(
            {
                "dataset_id": r.id,
                "status": found.status,
                "conn_id": found.conn_id,
                "candidates": json.dumps(list(found.candidates)),
                "matched_at": now,
            }
        )
        if found.status == "matched" and found.conn_id is not None and by_conn[found.conn_id].is_sql:
            to_check.append((r.id, r.namespace, r.name, found.conn_id))
        elif found.status != "matched":
            namespaces[(r.namespace, found.status)] = found
    if not dry_run:
        stmt = insert_for(conn.dialect.name, data_source_match)
        # A table check was made through the Connection matched then: one matched to another now
        # has not been checked through it, and keeps no check.
        same = data_source_match.c.conn_id.is_not_distinct_from(stmt.excluded.conn_id)
        kept = {k: case((same, data_source_match.c[k]), else_=None) for k in ("check_status", "evidence", "checked_at")}
        upsert = stmt.on_conflict_do_update(
            index_elements=["dataset_id"],
            set_={**{k: stmt.excluded[k] for k in ("status", "conn_id", "candidates", "matched_at")}, **kept},
        )
        for start in range(0, len(results), BATCH):
            conn.execute(upsert, results[start : start + BATCH])
        live = {r.id for r in rows}
        stale = [i for i in conn.execute(select(data_source_match.c.dataset_id)).scalars() if i not in live]
        for start in range(0, len(stale), BATCH):
            conn.execute(
                delete(data_source_match).where(data_source_match.c.dataset_id.in_(stale[start : start + BATCH]))
            )
        bump_generation(conn)  # every dataset names the Connection it lives in
    fields = _latest_fields(conn, [t[0] for t in to_check])
    return {
        "dryRun": dry_run,
        "counts": {k: counts.get(k, 0) for k in ("matched", "unmatched", "ambiguous")},
        "toCheck": [
            {
                "namespace": ns,
                "name": name,
                "connId": conn_id,
                "scheme": by_conn[conn_id].scheme,
                "fields": fields.get(ds_id, []),
            }
            for ds_id, ns, name, conn_id in to_check
        ],
        "namespaces": [
            {"namespace": ns, "status": status, "candidates": list(m.candidates), "suggestion": m.suggestion}
            for (ns, status), m in sorted(namespaces.items())
        ],
    }


def record_checks(conn: Connection, checks: list[dict[str, Any]]) -> int:
    """Store table checks ({namespace, name, status, evidence, connId}) on the datasets' matches;
    returns how many. A check made through a Connection the dataset no longer matches is dropped."""
    now = utcnow()
    stored = 0
    for check in checks:
        ids = (
            conn.execute(select(dataset.c.id).where(dataset.c.id.in_(holder_of(check["namespace"], check["name"]))))
            .scalars()
            .all()
        )
        for ds_id in ids:
            matched = data_source_match.c.dataset_id == ds_id
            if check.get("connId") is not None:
                matched = matched & (data_source_match.c.conn_id == check["connId"])
            stored += conn.execute(
                data_source_match.update()
                .where(matched)
                .values(check_status=check["status"], evidence=json.dumps(check.get("evidence") or {}), checked_at=now)
            ).rowcount
    if stored:
        bump_generation(conn)
    return stored
