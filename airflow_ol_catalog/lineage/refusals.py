"""Reading the log of refused ingestion requests (ingest/refusals.py writes it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.store.sql import sorted_by
from airflow_ol_catalog.store.tables import facet_warning, refusal

REFUSAL_SORTS = {"at": refusal.c.at, "status": refusal.c.status, "reason": refusal.c.reason, "caller": refusal.c.caller}


def list_refusals(
    conn: Connection, limit: int, offset: int, reason: str | None = None, sort: str = "at", descending: bool = True
) -> tuple[Sequence[Any], int]:
    query = select(refusal)
    if reason is not None:
        query = query.where(refusal.c.reason == reason)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        sorted_by(query, REFUSAL_SORTS[sort], descending, refusal.c.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


FACET_WARNINGS_SHOWN = 20


def facet_warnings(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Producers whose facets broke their published schema since then, most events first, each
    with the newest example: the events were stored, and a facet shown whole was not used."""
    rows = conn.execute(
        select(facet_warning)
        .where(facet_warning.c.last_seen_at >= since)
        .order_by(facet_warning.c.events.desc(), facet_warning.c.producer, facet_warning.c.facet)
        .limit(FACET_WARNINGS_SHOWN)
    )
    return [
        {
            "producer": r.producer,
            "facet": r.facet,
            "events": r.events,
            "lastSeenAt": iso(r.last_seen_at),
            "example": {"path": r.example_path, "message": r.example_message},
        }
        for r in rows
    ]


def refusals_by_reason(conn: Connection, since: datetime) -> dict[str, int]:
    rows = conn.execute(select(refusal.c.reason, func.count()).where(refusal.c.at >= since).group_by(refusal.c.reason))
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping
