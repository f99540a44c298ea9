"""The event log's tally: how many events the log holds per hour they arrived in, owner namespace
(as sent) and quarantine, with the newest arrival of each.

Every write to the log keeps it, in the same transaction: ingest adds what it stored, quarantine
and retention take off what they delete and move what they release. The overview, the health check
and the event list read it instead of counting a log of millions of rows. Its rows are few (one
per hour and namespace that had events), and ingest touches one per namespace of a request, last
in its transaction, as it does the namespace's own counters.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Connection, Insert, delete, func, select, tuple_

from airflow_ol_catalog.store.sql import insert_for, latest, write
from airflow_ol_catalog.store.tables import UTCDateTime, event, event_tally

KEY = ("hour", "namespace", "quarantined")


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def hour_sql(dialect: str, column: ColumnElement[datetime]) -> ColumnElement[datetime]:
    """`hour_of` in SQL: the UTC hour a time falls in, as the column type keeps times."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", column)), type_=UTCDateTime)
    return func.strftime("%Y-%m-%d %H:00:00.000000", column, type_=UTCDateTime)


@functools.cache
def _add(dialect: str) -> Insert:
    stmt = insert_for(dialect, event_tally)
    return stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={
            "events": event_tally.c.events + stmt.excluded.events,
            "last_received_at": latest(event_tally.c.last_received_at, stmt.excluded.last_received_at),
        },
    )


def count_arrivals(conn: Connection, arrivals: Counter[tuple[str, bool]], now: datetime) -> None:
    """Add the events just stored, all received at `now`: (owner namespace, quarantined) -> how many.
    Rows in key order, so that two writers never wait on each other's rows crosswise."""
    if arrivals:
        hour = hour_of(now)
        rows = [
            {"hour": hour, "namespace": ns, "quarantined": q, "events": n, "last_received_at": now}
            for (ns, q), n in sorted(arrivals.items())
        ]
        write(conn, _add(conn.dialect.name), rows, last=True)  # after the namespaces' counters, as replay does


def count_out(conn: Connection, removed: Iterable[Sequence[Any]]) -> int:
    """Take off the events a statement deleted or changed, as its RETURNING gave them: (received at,
    owner namespace, quarantined). Counting what the statement itself removed, not what a query
    before it saw, keeps the tally exact when two transactions remove the same events."""
    return _apply(conn, removed, -1)


def count_in(conn: Connection, changed: Iterable[Sequence[Any]]) -> int:
    """Add the events a statement changed (a quarantine released), as they are now."""
    return _apply(conn, changed, 1)


def count_out_where(conn: Connection, where: ColumnElement[bool]) -> int:
    """Take off the events `where` selects, counted in the database: only while nothing else can
    remove them (retention holds the log's exclusive lock to drop a month). Returns how many."""
    hour = hour_sql(conn.dialect.name, event.c.received_at).label("hour")
    groups = conn.execute(
        select(hour, event.c.namespace, event.c.quarantined, func.count(), func.max(event.c.received_at))
        .where(where)
        .group_by(hour, event.c.namespace, event.c.quarantined)
    ).all()
    return _write(conn, {(h, ns, q): (n, last) for h, ns, q, n, last in groups}, -1)


def _apply(conn: Connection, rows: Iterable[Sequence[Any]], sign: int) -> int:
    buckets: dict[tuple[datetime, str, bool], tuple[int, datetime]] = {}
    for received, ns, quarantined in rows:
        key = (hour_of(received), ns, bool(quarantined))
        n, last = buckets.get(key, (0, received))
        buckets[key] = (n + 1, max(last, received))
    return _write(conn, buckets, sign)


def _write(conn: Connection, buckets: dict[tuple[datetime, str, bool], tuple[int, datetime]], sign: int) -> int:
    """Add (or take off) each bucket's events, in key order as ingest does, so that writers lock
    tally rows in one order. A bucket left with none goes, but for the newest hour's: its newest
    arrival is what `last_received` answers, even when that event was deleted since."""
    if not buckets:
        return 0
    keys = sorted(buckets)
    rows: list[dict[str, Any]] = [
        {
            "hour": h,
            "namespace": ns,
            "quarantined": q,
            "events": sign * buckets[h, ns, q][0],
            "last_received_at": buckets[h, ns, q][1],
        }
        for h, ns, q in keys
    ]
    conn.execute(_add(conn.dialect.name), rows)
    if sign < 0:
        columns = tuple_(*(event_tally.c[k] for k in KEY))
        newest = select(func.max(event_tally.c.hour)).scalar_subquery()
        for start in range(0, len(keys), 500):
            conn.execute(
                delete(event_tally).where(
                    columns.in_(keys[start : start + 500]), event_tally.c.events <= 0, event_tally.c.hour < newest
                )
            )
    return sum(n for n, _ in buckets.values())


def recount(conn: Connection) -> None:
    """The tally made again from the log itself (for a log filled by other means than ingest)."""
    conn.execute(delete(event_tally))
    hour = hour_sql(conn.dialect.name, event.c.received_at)
    counted = select(
        hour, event.c.namespace, event.c.quarantined, func.count(), func.max(event.c.received_at)
    ).group_by(hour, event.c.namespace, event.c.quarantined)
    conn.execute(
        event_tally.insert().from_select(["hour", "namespace", "quarantined", "events", "last_received_at"], counted)
    )


def totals(conn: Connection) -> tuple[int, int]:
    """Events the log holds: (in the catalog, quarantined)."""
    counts = dict(
        conn.execute(
            select(event_tally.c.quarantined, func.sum(event_tally.c.events)).group_by(event_tally.c.quarantined)
        ).all()
    )
    return int(counts.get(False) or 0), int(counts.get(True) or 0)


def last_received(conn: Connection) -> datetime | None:
    """When the newest event arrived, whether the log still holds it or not (a discard or
    retention since does not move it back)."""
    newest = select(func.max(event_tally.c.hour)).scalar_subquery()
    found: datetime | None = conn.execute(
        select(func.max(event_tally.c.last_received_at)).where(event_tally.c.hour == newest)
    ).scalar()
    return found
