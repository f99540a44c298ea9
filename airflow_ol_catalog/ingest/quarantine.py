"""Events kept out of the catalog until their namespace exists (or is restored), and their replay."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, select, update

from airflow_ol_catalog.events import validate_event
from airflow_ol_catalog.ingest.event_log import catalog_event, facet_namespaces, links_parent
from airflow_ol_catalog.ingest.namespaces import record_activity, resolve_namespaces
from airflow_ol_catalog.ingest.projection import (
    Projected,
    named_job_namespaces,
    parent_namespace,
    project_events,
    stated_lineage,
)
from airflow_ol_catalog.ingest.tokens import token_scopes
from airflow_ol_catalog.store.event_tally import count_in, count_out
from airflow_ol_catalog.store.sql import deferred_writes, sorted_by, utcnow
from airflow_ol_catalog.store.tables import event, namespace

REPLAY_BATCH = 500


@dataclass(frozen=True)
class QuarantinedEvent:
    event_id: int
    namespace: str
    received_at: datetime
    kind: str
    event_type: str | None
    job_name: str | None
    run_id: str | None


QUARANTINE_SORTS = {"receivedAt": event.c.received_at, "namespace": event.c.namespace, "jobName": event.c.job_name}


def list_quarantined(
    conn: Connection,
    name: str | None = None,
    limit: int = 100,
    offset: int = 0,
    sort: str = "receivedAt",
    descending: bool = False,
) -> list[QuarantinedEvent]:
    query = select(
        event.c.id,
        event.c.namespace,
        event.c.received_at,
        event.c.kind,
        event.c.event_type,
        event.c.job_name,
        event.c.run_id,
    ).where(event.c.quarantined.is_(True))
    if name is not None:
        query = query.where(event.c.namespace == name)
    rows = conn.execute(sorted_by(query, QUARANTINE_SORTS[sort], descending, event.c.id).limit(limit).offset(offset))
    return [QuarantinedEvent(*row) for row in rows]


def count_quarantined(conn: Connection, name: str | None = None) -> int:
    """How many events wait in quarantine (of one namespace)."""
    query = select(func.count()).select_from(event).where(event.c.quarantined.is_(True))
    if name is not None:
        query = query.where(event.c.namespace == name)
    return int(conn.execute(query).scalar_one())


def discard_quarantined(conn: Connection, name: str | None = None, event_ids: list[int] | None = None) -> int:
    """Delete quarantined events (of one namespace, or these ids); returns how many went."""
    going: ColumnElement[bool] = event.c.quarantined.is_(True)
    if name is not None:
        going &= event.c.namespace == name
    if event_ids is not None:
        going &= event.c.id.in_(event_ids)
    removed = conn.execute(
        delete(event).where(going).returning(event.c.received_at, event.c.namespace, event.c.quarantined)
    ).all()
    return count_out(conn, removed)


def replay_quarantined(conn: Connection, name: str | None = None, policy: str = "quarantine") -> Counter[str]:
    """Move quarantined events whose namespace now exists (and is not deleted) into the catalog.

    Each is projected as when it arrived: with its token's limits, its parent linked only where
    `policy` places events. Returns the number of events replayed per namespace.
    """
    # by id: the namespaces' rows locked in the order the writers lock them (ingest/event_log.py)
    live = select(namespace.c.id, namespace.c.name).where(namespace.c.deleted_at.is_(None)).order_by(namespace.c.id)
    if name is not None:
        live = live.where(namespace.c.name == name)
    replayed: Counter[str] = Counter()
    now = utcnow()
    integrations: dict[int, set[str]] = {}
    released: list[Any] = []  # (received at, namespace) of each event released
    namespaces = conn.execute(live).all()
    for ns_id, ns_name in namespaces:
        while True:
            rows = conn.execute(
                select(event.c.id, event.c.payload, event.c.digest, event.c.token_id)
                .where(event.c.quarantined.is_(True), event.c.namespace == ns_name)
                .order_by(event.c.id)
                .limit(REPLAY_BATCH)
            ).all()
            if not rows:
                break
            events = [catalog_event(validate_event(json.loads(row.payload)), row.payload) for row in rows]
            parents = [parent_namespace(ev) for ev in events]
            read = [stated_lineage(ev) for ev in events]
            named = [named_job_namespaces(stated) for stated in read]
            scopes = token_scopes(conn, {row.token_id for row in rows if row.token_id is not None})
            every, writable = facet_namespaces(parents, named, [scopes.get(row.token_id) for row in rows])
            placements = resolve_namespaces(conn, every, policy, writable)
            with deferred_writes(conn):  # sent, and their rows locked, in the order the writers use
                project_events(
                    conn,
                    [
                        Projected(
                            ev,
                            row.digest,
                            scopes.get(row.token_id),
                            links_parent(parent, scopes.get(row.token_id), placements),
                            frozenset(n for n in names if links_parent(n, scopes.get(row.token_id), placements)),
                            (stated,),
                        )
                        for ev, row, parent, names, stated in zip(events, rows, parents, named, read, strict=True)
                    ],
                )
            # What this statement released, not what was read: a replay running at once may have
            # released them first (it held their rows; they are no longer quarantined now).
            now_released = conn.execute(
                update(event)
                .where(event.c.id.in_([row.id for row in rows]), event.c.quarantined.is_(True))
                .values(quarantined=False)
                .returning(event.c.received_at, event.c.namespace)
            ).all()
            released += now_released
            integrations.setdefault(ns_id, set()).update(ev.integration for ev in events if ev.integration)
            if now_released:
                replayed[ns_name] += len(now_released)
    # Last, as every writer updates them (store/sql.py `write`): the namespaces' rows in id order,
    # then the tally's, once every event is projected.
    for ns_id, ns_name in namespaces:
        if replayed[ns_name]:
            record_activity(conn, ns_id, replayed[ns_name], now, now, integrations[ns_id])
    count_out(conn, [(received, ns, True) for received, ns in released])
    count_in(conn, [(received, ns, False) for received, ns in released])
    return replayed
