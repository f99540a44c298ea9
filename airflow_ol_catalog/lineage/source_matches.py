"""How each dataset matched the data sources Airflow's Connections describe (written by the reconcile DAG)."""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from airflow_ol_catalog.store.tables import data_source_match


def match_view(row) -> dict | None:
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


def match_without_connections(match: dict | None, reason: str) -> dict | None:
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


def matches_of(conn: Connection, dataset_ids: list[int]) -> dict[int, dict]:
    if not dataset_ids:
        return {}
    rows = conn.execute(select(data_source_match).where(data_source_match.c.dataset_id.in_(dataset_ids)))
    return {r.dataset_id: view for r in rows if (view := match_view(r)) is not None}
