"""Appending accepted events to the event log, once each, in the caller's transaction."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Insert, and_, bindparam, case, func, select, tuple_

from airflow_ol_catalog.events import OpenLineageEvent, validate_event
from airflow_ol_catalog.events.canonical import NUL_ESCAPE, canonical_json, event_digest, without_nul
from airflow_ol_catalog.events.model import Problem
from airflow_ol_catalog.ingest.namespaces import Placement, record_activity, resolve_namespaces
from airflow_ol_catalog.ingest.projection import (
    Projected,
    lookup,
    named_job_namespaces,
    parent_namespace,
    project_events,
    stated_lineage,
)
from airflow_ol_catalog.ingest.scope import Scope
from airflow_ol_catalog.store.event_tally import count_arrivals
from airflow_ol_catalog.store.sql import (
    deferred_writes,
    earliest,
    execute,
    execute_rows,
    insert_and_read,
    insert_for,
    latest,
    utcnow,
    write,
)
from airflow_ol_catalog.store.tables import event, facet_warning, sqlite_utc_text

DUPLICATE_LOOKUP_PAIRS = 5_000  # two parameters each, within SQLite's 32,766


@dataclass(frozen=True)
class Submission:
    """A validated event on its way into the log."""

    event: OpenLineageEvent
    canonical: str
    digest: str
    token_id: int | None
    scope: Scope | None = None  # what its sender may change (ingest/scope.py); None: everything

    @classmethod
    def of(
        cls, ol_event: OpenLineageEvent, token_id: int | None, max_depth: int, scope: Scope | None = None
    ) -> Submission:
        canonical = canonical_json(ol_event.payload, max_depth)
        return cls(catalog_event(ol_event, canonical), canonical, event_digest(canonical), token_id, scope)


def catalog_event(ol_event: OpenLineageEvent, canonical: str) -> OpenLineageEvent:
    """The event as the catalog reads it into its tables.

    PostgreSQL text cannot hold NUL. Identifiers refuse it; anywhere else (a facet name, a
    column name, a description) the catalog reads a copy with U+FFFD in its place, on both
    backends alike, while the log keeps the event as sent (canonical JSON escapes NUL).
    """
    if NUL_ESCAPE not in canonical:
        return ol_event
    return validate_event(without_nul(ol_event.payload))


class Receipt(NamedTuple):  # a tuple: thousands are made per batch, a frozen dataclass is slower to build
    event_id: int
    namespace: str
    duplicate: bool
    quarantined: bool
    kind: str
    event_type: str | None
    run_id: str | None
    warnings: tuple[Problem, ...] = ()  # facets that break their published schema

    def as_dict(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "namespace": self.namespace,
            "duplicate": self.duplicate,
            "quarantined": self.quarantined,
            "kind": self.kind,
            "eventType": self.event_type,
            "runId": self.run_id,
            "warnings": [w.as_dict() for w in self.warnings],
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


def _row(sub: Submission, owner: str, quarantined: bool, now: datetime) -> dict[str, Any]:
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

    Returns one outcome per submission. The writes nobody reads back go to the database together
    when it is done (store/sql.py `deferred_writes`).
    """
    with deferred_writes(conn):
        return _store_events(conn, submissions, policy)


def _store_events(conn: Connection, submissions: list[Submission], policy: str) -> list[Receipt | Refusal]:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING for all of them: the unique digest makes
    concurrent writers safe, and events that were not inserted are the duplicates.
    """
    now = utcnow()
    parents = [parent_namespace(sub.event) for sub in submissions]
    read = [stated_lineage(sub.event) for sub in submissions]  # read once: the projection needs it too
    named = [named_job_namespaces(stated) for stated in read]  # jobs `lineage` facets name
    owners = {sub.event.owner_namespace for sub in submissions}
    every, writable = facet_namespaces(parents, named, [sub.scope for sub in submissions])
    placements = resolve_namespaces(conn, owners | every, policy, owners | writable)
    to_insert = [sub for sub in submissions if not placements[sub.event.owner_namespace].refused]
    # What each event would be projected as, if it is new to the log; the projection's look-up of
    # what they name goes with their insert (PostgreSQL: one round trip less).
    projected: dict[str, Projected] = {}
    for sub, parent, names, stated in zip(submissions, parents, named, read, strict=True):
        if sub.digest not in projected and placements[sub.event.owner_namespace].namespace_id is not None:
            linked = frozenset(n for n in names if links_parent(n, sub.scope, placements))
            projected[sub.digest] = Projected(
                sub.event, sub.digest, sub.scope, links_parent(parent, sub.scope, placements), linked, (stated,)
            )
    looked = lookup(conn, list(projected.values()))
    inserted: dict[str, int] = {}
    if to_insert:
        rows = [
            _row(sub, sub.event.owner_namespace, placements[sub.event.owner_namespace].namespace_id is None, now)
            for sub in to_insert
        ]
        statement = _insert_event(conn.dialect.name)
        returned: Sequence[Any]
        together = insert_and_read(conn, statement, rows, looked.query, looked.params) if looked else None
        if looked is not None and together is not None:
            returned, looked.rows = together
        else:
            returned = execute_rows(conn, statement, rows)
        inserted = {row.digest: row.id for row in returned}
    existing = _stored(conn, {(sub.event.event_time, sub.digest) for sub in to_insert if sub.digest not in inserted})

    activity: dict[int, _Activity] = {}
    arrivals: Counter[tuple[str, bool]] = Counter()  # the log's tally (store/event_tally.py)
    warned: dict[tuple[str, str], dict[str, Any]] = {}  # (producer, facet) -> its counter's row
    to_project: list[Projected] = []
    outcomes: list[Receipt | Refusal] = []
    for sub in submissions:
        placement = placements[sub.event.owner_namespace]
        if placement.refused:
            outcomes.append(Refusal(placement.refused))
        elif sub.digest in inserted:
            namespace_id = placement.namespace_id
            quarantined = namespace_id is None
            receipt = _receipt(sub.event, inserted.pop(sub.digest), duplicate=False, quarantined=quarantined)
            outcomes.append(receipt)
            existing[sub.digest] = (receipt.event_id, quarantined)  # a repeat later in this batch is a duplicate
            arrivals[sub.event.owner_namespace, quarantined] += 1
            for facet_key, problem in sub.event.broken_facets:
                _count_warning(warned, sub.event, facet_key, problem)
            if namespace_id is not None:
                to_project.append(projected[sub.digest])
                seen = activity.setdefault(namespace_id, _Activity(0, now, now, set()))
                seen.count += 1
                if sub.event.integration:
                    seen.integrations.add(sub.event.integration)
        else:
            event_id, quarantined = existing[sub.digest]
            outcomes.append(_receipt(sub.event, event_id, duplicate=True, quarantined=quarantined))
    for namespace_id, seen in sorted(activity.items(), key=lambda item: item[0]):  # in one order for all writers
        record_activity(conn, namespace_id, seen.count, seen.first, seen.last, seen.integrations)
    count_arrivals(conn, arrivals, now)
    if warned:
        write(
            conn, _count_warnings(conn.dialect.name), sorted(warned.values(), key=lambda r: (r["producer"], r["facet"]))
        )
    project_events(conn, to_project, looked)
    return outcomes


def _count_warning(
    warned: dict[tuple[str, str], dict[str, Any]], ev: OpenLineageEvent, facet_key: str, problem: Problem
) -> None:
    """Count one stored event whose facet broke its schema; the newest event's problem is the example."""
    producer = ev.producer[:1000]
    row = warned.get((producer, facet_key))
    if row is None:
        warned[(producer, facet_key)] = {
            "producer": producer,
            "facet": facet_key,
            "events": 1,
            "first_seen_at": ev.event_time,
            "last_seen_at": ev.event_time,
            "example_path": problem.path,
            "example_message": problem.message,
        }
        return
    row["events"] += 1
    row["first_seen_at"] = min(row["first_seen_at"], ev.event_time)
    if ev.event_time >= row["last_seen_at"]:
        row.update(last_seen_at=ev.event_time, example_path=problem.path, example_message=problem.message)


@functools.cache
def _count_warnings(dialect: str) -> Insert:
    stmt = insert_for(dialect, facet_warning)
    newer = stmt.excluded.last_seen_at >= facet_warning.c.last_seen_at
    return stmt.on_conflict_do_update(
        index_elements=["producer", "facet"],
        set_={
            "events": facet_warning.c.events + stmt.excluded.events,
            "first_seen_at": earliest(facet_warning.c.first_seen_at, stmt.excluded.first_seen_at),
            "last_seen_at": latest(facet_warning.c.last_seen_at, stmt.excluded.last_seen_at),
            "example_path": case((newer, stmt.excluded.example_path), else_=facet_warning.c.example_path),
            "example_message": case((newer, stmt.excluded.example_message), else_=facet_warning.c.example_message),
        },
    )


@functools.cache
def _insert_event(dialect: str) -> Insert:
    return (
        insert_for(dialect, event)
        .on_conflict_do_nothing(index_elements=["event_time", "digest"])
        .returning(event.c.id, event.c.digest)
    )


def _stored(conn: Connection, keys: set[tuple[datetime, str]]) -> dict[str, tuple[int, bool]]:
    """The stored duplicates of these (event time, digest) pairs, by digest.

    Looked up pair by pair: a list of times and a list of digests would be looked up in every
    combination (a re-sent batch of 1,000 events with 1,000 times took longer than storing it).
    """
    found: dict[str, tuple[int, bool]] = {}
    pairs = sorted(keys)
    for start in range(0, len(pairs), DUPLICATE_LOOKUP_PAIRS):
        chunk = pairs[start : start + DUPLICATE_LOOKUP_PAIRS]
        rows: Iterable[Sequence[Any]]
        if conn.dialect.name == "sqlite":
            rows = execute(conn, _STORED_PAIRS, {"pairs": json.dumps([[sqlite_utc_text(t), d] for t, d in chunk])})
        else:
            rows = conn.execute(
                select(event.c.digest, event.c.id, event.c.quarantined).where(
                    tuple_(event.c.event_time, event.c.digest).in_(chunk)
                )
            )
        found.update((digest, (event_id, bool(quarantined))) for digest, event_id, quarantined in rows)
    return found


_wanted = func.json_each(bindparam("pairs")).table_valued("value").alias("wanted")
# SQLite: one index look-up per [time text, digest] pair of a JSON array.
_STORED_PAIRS = select(event.c.digest, event.c.id, event.c.quarantined).join_from(
    _wanted,
    event,
    and_(
        event.c.event_time == func.json_extract(_wanted.c.value, "$[0]"),
        event.c.digest == func.json_extract(_wanted.c.value, "$[1]"),
    ),
)


def facet_namespaces(
    parents: list[str | None], named: list[set[str]], scopes: list[Scope | None]
) -> tuple[set[str], set[str]]:
    """The namespaces events' parent and `lineage` facets name, and those their senders may write:
    only these may be registered by the events (a token limited to its namespaces would register
    any other namespace it named, which it may never link)."""
    every: set[str] = set()
    writable: set[str] = set()
    for parent, names, scope in zip(parents, named, scopes, strict=True):
        for name in names if parent is None else names | {parent}:
            every.add(name)
            if scope is None or scope.allows_job(name):
                writable.add(name)
    return every, writable


def links_parent(parent: str | None, scope: Scope | None, placements: dict[str, Placement]) -> bool:
    """Whether an event's parent facet may link (and, when unseen, create) the parent job, or its
    `lineage` facet a job of that namespace: its sender may write there, and events of that
    namespace would be placed in the catalog now (not quarantined, refused or hidden)."""
    if parent is None:
        return False
    placement = placements[parent]
    return (scope is None or scope.allows_job(parent)) and placement.namespace_id is not None and not placement.refused


def _receipt(ev: OpenLineageEvent, event_id: int, duplicate: bool, quarantined: bool) -> Receipt:
    return Receipt(
        event_id=event_id,
        namespace=ev.owner_namespace,
        duplicate=duplicate,
        quarantined=quarantined,
        kind=ev.kind,
        event_type=ev.event_type,
        run_id=ev.run_id,
        warnings=ev.warnings,
    )
