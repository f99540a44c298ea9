"""How each dataset matched the data sources Airflow's Connections describe (written by the reconcile DAG)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Connection, select

from airflow_ol_catalog.events.datasources import DataSource
from airflow_ol_catalog.store.sql import AnyRow, among
from airflow_ol_catalog.store.tables import data_source_match, dataset


def match_view(row: AnyRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "status": row.status,
        "connId": row.conn_id,
        "candidates": json.loads(row.candidates),
        "check": None
        if row.check_status is None
        else {
            "status": row.check_status,
            "evidence": json.loads(row.evidence or "{}"),
            "checkedAt": row.checked_at.isoformat() if row.checked_at else None,
        },
        "withheld": None,
    }


# What names a Connection, for callers who may not read Connections (Airflow's Viewers, tokens):
# its id, the hosts and aliases it answers to, its database, and a failed check's error, which
# is the hook's message (hosts, logins).
MATCH_CONNECTION_FIELDS = ("connId", "candidates", "check.evidence.error")


def match_without_connections(match: dict[str, Any] | None, reason: str) -> dict[str, Any] | None:
    """A dataset's match as shown to a caller who may not read Connections: status and check, no names."""
    if match is None:
        return None
    check = match["check"]
    if check is not None:
        check = {**check, "evidence": {k: v for k, v in check["evidence"].items() if k != "error"}}
    return {
        **match,
        "connId": None,
        "candidates": [],
        "check": check,
        "withheld": {"fields": list(MATCH_CONNECTION_FIELDS), "reason": reason},
    }


def matches_of(conn: Connection, dataset_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not dataset_ids:
        return {}
    rows = conn.execute(
        select(data_source_match).where(among(conn.dialect.name, data_source_match.c.dataset_id, dataset_ids))
    )
    return {r.dataset_id: view for r in rows if (view := match_view(r)) is not None}


SUMMARY_CONNECTION_FIELDS = (
    "dataSources.connId",
    "dataSources.namespaces",
    "dataSources.database",
    "unmatched.candidates",
)


def summary_without_connections(summary: dict[str, Any], reason: str) -> dict[str, Any]:
    """The data-source summary for a caller who may not read Connections: the same rows and counts, no names."""
    return {
        **summary,
        "dataSources": [{**s, "connId": None, "namespaces": [], "database": None} for s in summary["dataSources"]],
        "unmatched": [{**u, "candidates": []} for u in summary["unmatched"]],
        "withheld": {"fields": list(SUMMARY_CONNECTION_FIELDS), "reason": reason},
    }


def data_source_summary(conn: Connection, sources: list[DataSource]) -> dict[str, Any]:
    """Per Connection: datasets matched and how their checks went; and the namespaces nothing matches."""
    rows = conn.execute(
        select(data_source_match, dataset.c.namespace).join(dataset, dataset.c.id == data_source_match.c.dataset_id)
    ).all()
    per_conn: dict[str, Counter[str]] = {s.conn_id: Counter() for s in sources}
    unmatched: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r.status == "matched" and r.conn_id in per_conn:
            per_conn[r.conn_id]["datasets"] += 1
            if r.check_status:
                per_conn[r.conn_id][r.check_status] += 1
        elif r.status != "matched":
            entry = unmatched.setdefault(
                (r.namespace, r.status),
                {"namespace": r.namespace, "status": r.status, "datasets": 0, "candidates": json.loads(r.candidates)},
            )
            entry["datasets"] += 1
    return {
        "dataSources": [
            {
                "connId": s.conn_id,
                "scheme": s.scheme,
                "namespaces": sorted(s.keys),
                "database": s.database,
                "datasets": per_conn[s.conn_id]["datasets"],
                "ok": per_conn[s.conn_id]["ok"],
                "missing": per_conn[s.conn_id]["missing"],
                "drifted": per_conn[s.conn_id]["drifted"],
                "unchecked": per_conn[s.conn_id]["error"],
            }
            for s in sorted(sources, key=lambda s: s.conn_id)
        ],
        "unmatched": sorted(unmatched.values(), key=lambda e: (e["status"], e["namespace"])),
        "reconciled": bool(rows),
        "withheld": None,
    }
