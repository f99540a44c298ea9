"""Appending accepted events to the event log, once each, in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from airflow_ol_catalog.events import OpenLineageEvent
from airflow_ol_catalog.events.canonical import canonical_json, event_digest
from airflow_ol_catalog.ingest.namespaces import Placement, record_activity, resolve_namespace
from airflow_ol_catalog.store.sql import insert_on_conflict, utcnow
from airflow_ol_catalog.store.tables import event


@dataclass(frozen=True)
class Submission:
    """A validated event on its way into the log."""

    event: OpenLineageEvent
    canonical: str
    digest: str
    token_id: int | None

    @classmethod
    def of(cls, ol_event: OpenLineageEvent, token_id: int | None) -> Submission:
        canonical = canonical_json(ol_event.payload)
        return cls(ol_event, canonical, event_digest(canonical), token_id)


@dataclass(frozen=True)
class Receipt:
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


def store_events(conn: Connection, submissions: list[Submission], policy: str) -> list[Receipt | Refusal]:
    """Append each event unless the log holds it already; return one outcome per submission."""
    now = utcnow()
    placements: dict[str, Placement] = {}
    activity: dict[int, _Activity] = {}
    outcomes: list[Receipt | Refusal] = []
    for sub in submissions:
        ev = sub.event
        owner = ev.owner_namespace
        placement = resolve_namespace(conn, owner, policy, placements)
        if placement.refused:
            outcomes.append(Refusal(placement.refused))
            continue
        quarantined = placement.namespace_id is None
        inserted = conn.execute(
            insert_on_conflict(conn, event)
            .values(
                digest=sub.digest,
                received_at=now,
                event_time=ev.event_time,
                kind=ev.kind,
                event_type=ev.event_type,
                producer=ev.producer,
                schema_url=ev.schema_url,
                namespace=owner,
                run_id=ev.run_id,
                job_name=ev.job_name,
                dataset_namespace=ev.dataset.namespace if ev.dataset else None,
                dataset_name=ev.dataset.name if ev.dataset else None,
                token_id=sub.token_id,
                quarantined=quarantined,
                payload=sub.canonical,
            )
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(event.c.id)
        ).first()
        if inserted is None:
            existing = conn.execute(
                select(event.c.id, event.c.quarantined).where(event.c.digest == sub.digest)
            ).one()
            outcomes.append(_receipt(ev, existing.id, duplicate=True, quarantined=existing.quarantined))
            continue
        if not quarantined:
            seen = activity.setdefault(placement.namespace_id, _Activity(0, now, now, set()))
            seen.count += 1
            if ev.integration:
                seen.integrations.add(ev.integration)
        outcomes.append(_receipt(ev, inserted.id, duplicate=False, quarantined=quarantined))
    for namespace_id, seen in activity.items():
        record_activity(conn, namespace_id, seen.count, seen.first, seen.last, seen.integrations)
    return outcomes


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
