"""The event log's tally (store/event_tally.py) says what a count of the log says, after every kind
of write to the log: ingest with duplicates and quarantine, a release, a discard, retention row by
row and by whole months, concurrent writers, and the migration that makes it from a filled log."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select, text
from test_partitions import _month_of_old_runs, at, store
from test_store import submission

from airflow_ol_catalog.ingest import event_log, quarantine
from airflow_ol_catalog.ingest.event_log import store_events
from airflow_ol_catalog.ingest.namespaces import resolve_namespaces
from airflow_ol_catalog.ingest.quarantine import discard_quarantined, replay_quarantined
from airflow_ol_catalog.ingest.retention import apply_retention
from airflow_ol_catalog.lineage.catalog import stats
from airflow_ol_catalog.store import partitions
from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.event_tally import hour_of, last_received, totals
from airflow_ol_catalog.store.migrate import upgrade
from airflow_ol_catalog.store.tables import event, event_tally

NOW = datetime.now(timezone.utc)


def counted_from_the_log(engine) -> dict[tuple, tuple[int, datetime]]:
    """(hour, namespace, quarantined) -> (events, newest arrival), counted in Python from every row."""
    counts: Counter[tuple] = Counter()
    newest: dict[tuple, datetime] = {}
    with read_connection(engine) as conn:
        for received, ns, quarantined in conn.execute(
            select(event.c.received_at, event.c.namespace, event.c.quarantined)
        ):
            key = (hour_of(received), ns, quarantined)
            counts[key] += 1
            newest[key] = max(newest.get(key, received), received)
    return {key: (n, newest[key]) for key, n in counts.items()}


def tallied(engine) -> dict[tuple, tuple[int, datetime]]:
    with read_connection(engine) as conn:
        return {
            (row.hour, row.namespace, row.quarantined): (row.events, row.last_received_at)
            for row in conn.execute(select(event_tally))
            if row.events  # the newest hour's bucket stays when emptied: its newest arrival is answered
        }


def at_once(*work) -> None:
    """Run each in its own thread and wait for all."""
    threads = [threading.Thread(target=fn) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def store_at(engine, monkeypatch, received: datetime, subs, policy="register"):
    monkeypatch.setattr(event_log, "utcnow", lambda: received)
    try:
        with write_transaction(engine) as conn:
            return store_events(conn, list(subs), policy)
    finally:
        monkeypatch.undo()


def test_the_tally_says_what_a_count_of_the_log_says_after_every_kind_of_write(catalog_engine, monkeypatch):
    # Arrivals in three hours, one of them a second before the next hour, and at a time with microseconds.
    hours = [
        NOW - timedelta(days=2, hours=2, minutes=17),
        NOW - timedelta(hours=5),
        hour_of(NOW) - timedelta(microseconds=1),
    ]
    old, recent = ((NOW - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for d in (800, 1))

    def sent(ns: str, run_id: str, when: str = recent):
        return submission(ns, run_id, eventTime=when)

    store_at(catalog_engine, monkeypatch, hours[0], [sent("team-a", f"a-{n}") for n in range(5)])
    store_at(catalog_engine, monkeypatch, hours[0], [sent("team-b", "b-1", old)])
    store_at(catalog_engine, monkeypatch, hours[1], [sent("team-a", "a-0"), sent("team-a", "a-9")])
    store_at(
        catalog_engine,
        monkeypatch,
        hours[2],
        [sent("team-c", f"c-{n}") for n in range(4)] + [sent("team-c", "c-0")],
        policy="quarantine",
    )
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)
    assert sum(n for (_, ns, q), (n, _) in tallied(catalog_engine).items() if q) == 4, "the duplicate counts once"

    with write_transaction(catalog_engine) as conn:
        (going,) = conn.execute(select(event.c.id).where(event.c.run_id == "c-3")).scalars()
        assert discard_quarantined(conn, event_ids=[going]) == 1
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)

    with write_transaction(catalog_engine) as conn:
        resolve_namespaces(conn, {"team-c"}, "register")
        assert replay_quarantined(conn, "team-c")["team-c"] == 3
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)
    assert not any(q for (_, _, q) in tallied(catalog_engine)), "released: none quarantined"

    done = apply_retention(catalog_engine, days=365, keep_runs_per_job=0)
    assert done["events"] == 1, "team-b's old event goes"
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)
    assert not any(ns == "team-b" for (_, ns, _) in tallied(catalog_engine))

    with read_connection(catalog_engine) as conn:
        overview = stats(conn, 7)
        all_events = conn.execute(select(event)).all()
    assert overview["events"] == len(all_events) == 5 + 1 + 3
    assert overview["quarantinedEvents"] == 0
    # per namespace, what the log holds too: retention took team-b's event (which its count of
    # events received still counts)
    held = Counter(row.namespace for row in all_events)
    assert {n["namespace"]: n["events"] for n in overview["eventsPerNamespace"]} == {**held, "team-b": 0}
    assert sum(d["events"] for d in overview["eventsPerDay"]) == 9
    per_hour = {h["hour"]: h["events"] for h in overview["eventsPerHour"]}
    assert per_hour == {
        hour_of(hours[1]).strftime("%Y-%m-%dT%H:00"): 1,
        hour_of(hours[2]).strftime("%Y-%m-%dT%H:00"): 3,
    }
    with read_connection(catalog_engine) as conn:  # what the health check says of the log
        assert (last_received(conn), totals(conn)) == (hours[2], (9, 0))


def test_concurrent_writers_of_one_namespace_and_hour_each_count(catalog_engine):
    def writer(n: int) -> None:
        for i in range(25):
            store(catalog_engine, submission("hot", f"w{n}-{i}"))

    at_once(*(lambda n=n: writer(n) for n in range(4)))
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)
    assert sum(n for n, _ in tallied(catalog_engine).values()) == 100


def test_a_month_retention_drops_whole_goes_off_the_tally(catalog_engine):
    with read_connection(catalog_engine) as conn:
        if not partitions.is_partitioned(conn):
            pytest.skip("SQLite keeps the event log in one table")
    _month_of_old_runs(catalog_engine, 500, runs=3)
    store(catalog_engine, at(NOW, "recent"))
    done = apply_retention(catalog_engine, days=365, keep_runs_per_job=0)
    assert (done["events"], done["months"]) == (6, 1)
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)
    assert sum(n for n, _ in tallied(catalog_engine).values()) == 1


def test_the_migration_counts_a_filled_log(database_url):
    upgrade(database_url, "0017")
    engine = create_engine(database_url)
    zone = "+00" if engine.dialect.name == "postgresql" else ""  # SQLite keeps UTC text without an offset
    rows = [("a", "2026-03-01 10:59:59.999999", False), ("a", "2026-03-01 10:00:00.000000", False)]
    rows += [("a", "2026-03-01 11:00:00.000000", False), ("b", "2026-03-01 10:30:00.000000", True)]
    with engine.begin() as conn:
        for n, (ns, received, quarantined) in enumerate(rows):
            conn.execute(
                text(
                    "INSERT INTO ol_catalog_event (digest, received_at, event_time, kind, event_type, producer,"
                    " namespace, run_id, quarantined, payload)"
                    " VALUES (:digest, :received, :received, 'run', 'START', 'p', :ns, :run, :q, '{}')"
                ),
                {"digest": f"{n:064x}", "received": received + zone, "ns": ns, "run": f"r{n}", "q": quarantined},
            )
    engine.dispose()
    upgrade(database_url)
    engine = create_engine(database_url)
    assert tallied(engine) == counted_from_the_log(engine)
    ten = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    assert tallied(engine)[(ten, "a", False)] == (2, datetime(2026, 3, 1, 10, 59, 59, 999999, tzinfo=timezone.utc))
    engine.dispose()


def test_two_discards_of_the_same_events_at_once_take_them_off_once(catalog_engine):
    """The second discard waits for the first and then deletes nothing: it takes nothing off."""
    store_at_now = [submission("team-q", f"q-{n}") for n in range(8)]
    with write_transaction(catalog_engine) as conn:
        store_events(conn, store_at_now, "quarantine")
        ids = conn.execute(select(event.c.id).order_by(event.c.id).limit(3)).scalars().all()
    first_done, discarded = threading.Event(), {}

    def first() -> None:
        with write_transaction(catalog_engine) as conn:
            discarded["first"] = discard_quarantined(conn, event_ids=ids)
            first_done.set()
            time.sleep(0.5)  # the second discard starts meanwhile and waits for this one

    def second() -> None:
        first_done.wait()
        with write_transaction(catalog_engine) as conn:
            discarded["second"] = discard_quarantined(conn, event_ids=ids)

    at_once(first, second)
    assert discarded == {"first": 3, "second": 0}
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)


def test_a_release_and_an_ingest_of_one_namespace_at_once_both_commit(catalog_engine, monkeypatch):
    """A release takes the namespace's row before the tally's, as ingest does: paused between the
    two, it makes an ingest of the same namespace and hour wait, not deadlock."""
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission("team-n", f"n-{n}") for n in range(3)], "quarantine")
        resolve_namespaces(conn, {"team-n"}, "register")
    real = quarantine.record_activity
    paused, done = threading.Event(), {}

    def slow_record_activity(*args, **kwargs):
        paused.set()
        time.sleep(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(quarantine, "record_activity", slow_record_activity)

    def release() -> None:
        with write_transaction(catalog_engine) as conn:
            done["release"] = replay_quarantined(conn, "team-n")["team-n"]

    def ingest() -> None:
        paused.wait()
        other_job = {"namespace": "team-n", "name": "etl.other", "facets": {}}  # no row the release holds
        done["ingest"] = len(store(catalog_engine, submission("team-n", "n-new", job=other_job)))

    at_once(release, ingest)
    assert done == {"release": 3, "ingest": 1}
    assert tallied(catalog_engine) == counted_from_the_log(catalog_engine)


def test_the_newest_arrival_stays_when_its_event_is_deleted(catalog_engine, monkeypatch):
    """`/health` says when events last arrived: discarding the newest does not move it back."""
    hour = hour_of(NOW) - timedelta(hours=3)
    store_at(catalog_engine, monkeypatch, hour + timedelta(minutes=1), [submission("team-h", "h-1")], "quarantine")
    store_at(catalog_engine, monkeypatch, hour + timedelta(minutes=40), [submission("team-h", "h-2")], "quarantine")
    with write_transaction(catalog_engine) as conn:
        (newest,) = conn.execute(select(event.c.id).where(event.c.run_id == "h-2")).scalars()
        discard_quarantined(conn, event_ids=[newest])
    with read_connection(catalog_engine) as conn:
        assert (last_received(conn), totals(conn)) == (hour + timedelta(minutes=40), (0, 1))
        discard_quarantined(conn, event_ids=conn.execute(select(event.c.id)).scalars().all())
        assert (last_received(conn), totals(conn)) == (hour + timedelta(minutes=40), (0, 0)), "its hour stays"
