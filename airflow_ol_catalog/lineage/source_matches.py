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
        "check": None if row.check_status is None else {"status": row.check_status, "evidence": json.loads(row.evidence or "{}"), "checkedAt": row.checked_at.isoformat() if row.checked_at else None},
    }


def matches_of(conn: Connection, dataset_ids: list[int]) -> dict[int, dict]:
    rows = conn.execute(select(data_source_match).where(data_source_match.c.dataset_id.in_(dataset_ids))) if dataset_ids else []
    return {r.dataset_id: match_view(r) for r in rows}
