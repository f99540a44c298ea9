"""Appending accepted events to the event log, once each, in the caller's transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, select

from airflow_ol_catalog.events import OpenLineageEvent
from airflow_ol_catalog.events.canonical import canonical_json, event_digest
from airflow_ol_catalog.ingest.namespaces import record_activity, resolve_namespaces
from airflow_ol_catalog.ingest.projection import Projected, project_events
from airflow_ol_catalog.store.sql import execute_rows, insert_for, utcnow
from airflow_ol_catalog.store.tables import event


@dataclass(frozen=True)
class Submission:
    """A validated event on its way into the log."""

    event: OpenLineageEvent
    canonical: str
    digest: str
    token_id: int | None

    @classmethod
    def of(cls, ol_event: OpenLineageEvent, token_id: int | None, max_depth: int) -> Submission:
        canonical = canonical_json(ol_event.payload, max_depth)
        return cls(ol_event, canonical, event_digest(canonical), token_id)


class Receipt(NamedTuple):  # a tuple: thousands are made per batch, a frozen dataclass is slower to build
    event_id: int
    namespace: str
    duplicate: bool
    quarantined: bool
    kind: str
    event_type: str | None
    run_id: str | None

    def as_dict(self) -> dict:
        return {
            "eventId": self.event_id,
            "namespace": self.namespace,
            "duplicate": self.duplicate,
            "quarantined": self.quarantined,
            "kind": self.kind,
            "eventType": self.event_type,
            "runId": self.run_id,
        }


@dataclass(frozen=True)
class Refusal:
    """An event the catalog will not store (for example an unknown namespace under `reject`)."""

    reason: str
    status: int = 422
    retriable: bool = False


@dataclass
class _Activity:
    count: int
    first: datetime
    last: datetime
    integrations: set[str]


def _row(sub: Submission, owner: str, quarantined: bool, now: datetime) -> dict:
    ev = sub.event
    return {
        "digest": sub.digest,
        "received_at": now,
        "event_time": ev.event_time,
        "kind": ev.kind,
        "event_type": ev.event_type,
        "producer": ev.producer,
        "schema_url": ev.schema_url,
        "namespace": owner,
        "run_id": ev.run_id,
        "job_name": ev.job_name,
        "dataset_namespace": ev.dataset.namespace if ev.dataset else None,
        "dataset_name": ev.dataset.name if ev.dataset else None,
        "token_id": sub.token_id,
        "quarantined": quarantined,
        "payload": sub.canonical,
    }


def store_events(conn: Connection, submissions: list[Submission], policy: str) -> list[Receipt | Refusal]:
    """Append each event unless the log holds it already, and project the new ones into the catalog.

    Returns one outcome per submission.

    One multi-row INSERT ... ON CONFLICT DO NOTHING for all of them: the unique digest makes
    concurrent writers safe, and events that were not inserted are the duplicates.
    """
    now = utcnow()
    placements = resolve_namespaces(conn, {sub.event.owner_namespace for sub in submissions}, policy)
    to_insert = [sub for sub in submissions if not placements[sub.event.owner_namespace].refused]
    inserted: dict[str, int] = {}
    if to_insert:
        rows = [_row(sub, sub.event.owner_namespace, placements[sub.event.owner_namespace].namespace_id is None, now) for sub in to_insert]
        inserted = {row.digest: row.id for row in execute_rows(conn, _insert_event(conn.dialect.name), rows)}
    existing = _stored(conn, {(sub.event.event_time, sub.digest) for sub in to_insert if sub.digest not in inserted})

    activity: dict[int, _Activity] = {}
    to_project: list[Projected] = []
    outcomes: list[Receipt | Refusal] = []
    for sub in submissions:
        placement = placements[sub.event.owner_namespace]
        if placement.refused:
            outcomes.append(Refusal(placement.refused))
        elif sub.digest in inserted:
            quarantined = placement.namespace_id is None
            outcomes.append(_receipt(sub.event, inserted.pop(sub.digest), duplicate=False, quarantined=quarantined))
            existing[sub.digest] = (outcomes[-1].event_id, quarantined)  # a repeat later in this batch is a duplicate
            if not quarantined:
                to_project.append(Projected(sub.event, sub.digest))
                seen = activity.setdefault(placement.namespace_id, _Activity(0, now, now, set()))
                seen.count += 1
                if sub.event.integration:
                    seen.integrations.add(sub.event.integration)
        else:
            event_id, quarantined = existing[sub.digest]
            outcomes.append(_receipt(sub.event, event_id, duplicate=True, quarantined=quarantined))
    for namespace_id, seen in activity.items():
        record_activity(conn, namespace_id, seen.count, seen.first, seen.last, seen.integrations)
    project_events(conn, to_project)
    return outcomes


@functools.cache
def _insert_event(dialect: str):
    return insert_for(dialect, event).on_conflict_do_nothing(index_elements=["event_time", "digest"]).returning(event.c.id, event.c.digest)


def _stored(conn: Connection, keys: set[tuple[datetime, str]]) -> dict[str, tuple[int, bool]]:
    """The stored duplicates of these (event time, digest) pairs, by digest."""
    if not keys:
        return {}
    times, digests = {t for t, _ in keys}, {d for _, d in keys}
    rows = conn.execute(
        select(event.c.digest, event.c.id, event.c.quarantined).where(event.c.event_time.in_(times), event.c.digest.in_(digests))
    )
    return {row.digest: (row.id, row.quarantined) for row in rows}


def _receipt(ev: OpenLineageEvent, event_id: int, duplicate: bool, quarantined: bool) -> Receipt:
    return Receipt(
        event_id=event_id,
        namespace=ev.owner_namespace,
        duplicate=duplicate,
        quarantined=quarantined,
        kind=ev.kind,
        event_type=ev.event_type,
        run_id=ev.run_id,
    )
