"""Reading the log of refused ingestion requests (ingest/refusals.py writes it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from airflow_ol_catalog.store.sql import sorted_by
from airflow_ol_catalog.store.tables import refusal

REFUSAL_SORTS = {"at": refusal.c.at, "status": refusal.c.status, "reason": refusal.c.reason, "caller": refusal.c.caller}


def list_refusals(
    conn: Connection, limit: int, offset: int, reason: str | None = None, sort: str = "at", descending: bool = True
) -> tuple[list, int]:
    query = select(refusal)
    if reason is not None:
        query = query.where(refusal.c.reason == reason)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        sorted_by(query, REFUSAL_SORTS[sort], descending, refusal.c.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


def refusals_by_reason(conn: Connection, since: datetime) -> dict[str, int]:
    rows = conn.execute(select(refusal.c.reason, func.count()).where(refusal.c.at >= since).group_by(refusal.c.reason))
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping
