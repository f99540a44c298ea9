"""The event log partitioned by month on PostgreSQL: the migration of a filled log, months made
ahead and late, and retention dropping whole months (SQLite keeps one table)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from test_store import submission

from airflow_ol_catalog.ingest import event_log
from airflow_ol_catalog.ingest.event_log import store_events
from airflow_ol_catalog.ingest.retention import apply_retention
from airflow_ol_catalog.store import partitions
from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.migrate import alembic_config, upgrade
from airflow_ol_catalog.store.partitions import OTHER, Month
from airflow_ol_catalog.store.tables import event

NOW = datetime.now(timezone.utc)


def at(when: datetime, run_id: str, **changes):
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return submission(run_id=run_id, eventTime=stamp, **changes)


def store(engine, *subs):
    with write_transaction(engine) as conn:
        return store_events(conn, list(subs), "register")


def log_rows(engine) -> list[tuple]:
    with read_connection(engine) as conn:
        return [tuple(row) for row in conn.execute(select(event).order_by(event.c.id))]


def where_each_event_is(engine) -> dict[str, str]:
    """run id -> the partition holding its event."""
    with read_connection(engine) as conn:
        return dict(conn.execute(text("SELECT run_id, tableoid::regclass::text FROM ol_catalog_event")).all())


# Event times of every kind: this month, a month three years ago, a century ago, the last day the
# spec's format can say, and a month further ahead than the months made ready.
TIMES = {
    "now": NOW,
    "years-ago": NOW - timedelta(days=3 * 365),
    "century-ago": datetime(1926, 5, 1, tzinfo=timezone.utc),
    "far-future": datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    "next-year": NOW + timedelta(days=400),
}


def test_migrating_a_filled_log_keeps_every_event_id_and_duplicate(database_url, monkeypatch):
    upgrade(database_url, "0014")
    engine = create_engine(database_url)
    sent = [at(when, name) for name, when in TIMES.items()]
    with monkeypatch.context() as then:  # the log's tally came later (0018)
        then.setattr(event_log, "count_arrivals", lambda *args: None)
        store(engine, *sent)
    before = log_rows(engine)
    engine.dispose()

    upgrade(database_url)
    engine = create_engine(database_url)
    assert log_rows(engine) == before, "every event keeps its id, time, digest and payload"
    receipts = store(engine, *sent, at(NOW, "new"))
    assert [r.duplicate for r in receipts] == [True] * len(sent) + [False]
    assert [r.event_id for r in receipts[:-1]] == [row[0] for row in before]
    assert receipts[-1].event_id > max(row[0] for row in before), "the id sequence goes on"

    with read_connection(engine) as conn:
        if conn.dialect.name == "sqlite":
            assert not partitions.is_partitioned(conn)
            return
        assert partitions.is_partitioned(conn)
        months = partitions.monthly_partitions(conn)
    assert list(Month.of(NOW).following(partitions.AHEAD)) == months[-(partitions.AHEAD + 1) :]
    assert Month.of(TIMES["years-ago"]) in months
    placed = where_each_event_is(engine)
    assert placed["now"] == placed["new"] == Month.of(NOW).table
    assert placed["years-ago"] == Month.of(TIMES["years-ago"]).table
    assert {placed["century-ago"], placed["far-future"], placed["next-year"]} == {OTHER}

    command.downgrade(alembic_config(database_url), "0014")  # and back: one table again, the same rows
    with read_connection(engine) as conn:
        assert not partitions.is_partitioned(conn)
    assert len(log_rows(engine)) == len(before) + 1
    engine.dispose()


@pytest.fixture
def pg_catalog(catalog_engine):
    with read_connection(catalog_engine) as conn:
        if not partitions.is_partitioned(conn):
            pytest.skip("SQLite keeps the event log in one table")
    return catalog_engine


def test_a_month_made_late_takes_its_events_from_the_default_partition(pg_catalog):
    later = Month.of(NOW + timedelta(days=200))
    (first,) = store(pg_catalog, at(later.start + timedelta(hours=5), "early-bird"))
    assert where_each_event_is(pg_catalog)["early-bird"] == OTHER

    with write_transaction(pg_catalog) as conn:
        made = partitions.ensure_months(conn, later.start)
    assert later in made
    assert where_each_event_is(pg_catalog)["early-bird"] == later.table
    (again,) = store(pg_catalog, at(later.start + timedelta(hours=5), "early-bird"))
    assert again.duplicate and again.event_id == first.event_id
    with write_transaction(pg_catalog) as conn:
        assert partitions.ensure_months(conn, later.start) == [], "made once"


def _month_of_old_runs(engine, days_ago: int, runs: int, **changes) -> Month:
    month = Month.of(NOW - timedelta(days=days_ago))
    with write_transaction(engine) as conn:
        partitions.serialise_changes(conn)
        partitions.add_month(conn, month)
    when = month.start + timedelta(days=3)
    for n in range(runs):
        store(
            engine,
            at(when, f"{month.table}-{n}", **changes),
            at(when + timedelta(hours=1), f"{month.table}-{n}", event_type="COMPLETE"),
        )
    return month


def test_retention_drops_a_month_whole_when_none_of_its_events_stays(pg_catalog):
    gone = _month_of_old_runs(pg_catalog, 500, runs=3)
    kept = _month_of_old_runs(pg_catalog, 600, runs=2)
    with write_transaction(pg_catalog) as conn:  # a quarantined event stays until it is released or discarded
        conn.execute(event.update().where(event.c.run_id == f"{kept.table}-0").values(quarantined=True))
    store(pg_catalog, at(NOW, "recent"))

    dry = apply_retention(pg_catalog, days=365, keep_runs_per_job=0, dry_run=True)
    done = apply_retention(pg_catalog, days=365, keep_runs_per_job=0)
    assert (
        (dry["events"], dry["months"]) == (done["events"], done["months"]) == (10 - 2, 1)
    )  # both events of the quarantined run stay
    with read_connection(pg_catalog) as conn:
        months = partitions.monthly_partitions(conn)
    assert gone not in months, "dropped as one table"
    assert kept in months
    assert set(where_each_event_is(pg_catalog)) == {f"{kept.table}-0", "recent"}

    (late,) = store(pg_catalog, at(gone.start + timedelta(days=1), "late"))  # a month already dropped
    assert not late.duplicate
    assert where_each_event_is(pg_catalog)["late"] == OTHER


def test_retention_deletes_row_by_row_when_the_log_stays_locked(pg_catalog, monkeypatch):
    """A reader holding the log longer than the lock timeout: the month's rows go one by one instead,
    and the writers queued behind retention wait no longer than that timeout."""
    old = _month_of_old_runs(pg_catalog, 500, runs=2)
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "300ms")
    holding, release = threading.Event(), threading.Event()

    def long_reader():
        with read_connection(pg_catalog) as conn:
            conn.execute(select(event.c.id).limit(1)).all()
            holding.set()
            release.wait(30)

    reader = threading.Thread(target=long_reader)
    reader.start()
    try:
        assert holding.wait(10)
        done = apply_retention(pg_catalog, days=365, keep_runs_per_job=0)
    finally:
        release.set()
        reader.join()
    assert (done["events"], done["months"]) == (4, 0)
    with read_connection(pg_catalog) as conn:
        assert old in partitions.monthly_partitions(conn), "left in place, empty"
    assert where_each_event_is(pg_catalog) == {}


def test_the_catalogs_postgresql_connections_compile_no_query(pg_catalog):
    """JIT compiled a query over the partitioned log once per partition: most of its time."""
    with read_connection(pg_catalog) as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"


def test_two_retention_runs_at_once_drop_each_month_once(pg_catalog):
    """Run B lists the old months, run A drops them meanwhile: B skips what is gone, no error."""
    from airflow_ol_catalog.ingest import retention

    months = [_month_of_old_runs(pg_catalog, days, runs=1) for days in (400, 500, 600)]
    apply_retention(pg_catalog, days=365, keep_runs_per_job=0, dry_run=True)
    with write_transaction(pg_catalog) as conn:  # the runs go first, as a real run does
        conn.execute(text("DELETE FROM ol_catalog_run_dataset"))
        conn.execute(text("DELETE FROM ol_catalog_run"))
    run_b = retention._drop_old_months(pg_catalog, NOW - timedelta(days=365))
    assert next(run_b) == 2  # B drops the oldest month and is paused there
    done = apply_retention(pg_catalog, days=365, keep_runs_per_job=0)  # A drops the other two
    assert (done["months"], done["events"]) == (2, 4)
    assert list(run_b) == [], "B finds them gone"
    with read_connection(pg_catalog) as conn:
        assert not set(months) & set(partitions.monthly_partitions(conn))


def test_retention_goes_on_when_the_months_ahead_cannot_be_made(pg_catalog, monkeypatch, caplog):
    """A role that may write the log but not make tables (or any other refusal): the old events
    still go, and the log says why no month was made."""
    from sqlalchemy.exc import ProgrammingError

    def refused(conn, now):
        raise ProgrammingError("CREATE TABLE ...", {}, Exception("permission denied for table ol_catalog_event"))

    _month_of_old_runs(pg_catalog, 500, runs=2)
    monkeypatch.setattr(partitions, "ensure_months", refused)
    done = apply_retention(pg_catalog, days=365, keep_runs_per_job=0)
    assert (done["events"], done["months"]) == (4, 1)
    assert "the months ahead were not made" in caplog.text


def test_airflow_db_migrate_makes_a_new_catalog_by_its_migrations(postgres):
    """`airflow db migrate` on a new database: Airflow's default would create the tables from the
    metadata and stamp them, without the partitions, the trigram indexes and the alias check."""
    from servers import AirflowServer

    server = AirflowServer(postgres.create_database("fresh_airflow"))
    try:
        server.cli("db", "migrate")
        engine = create_engine(server.sql_alchemy_conn)
        with engine.connect() as conn:
            assert partitions.is_partitioned(conn)
            assert Month.of(NOW) in partitions.monthly_partitions(conn)
            assert conn.execute(text("SELECT to_regproc('ol_catalog_dataset_alias_changed')")).scalar() is not None
            indexes = set(
                conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm'")).scalars()
            )
        assert len(indexes) == 3
        engine.dispose()
    finally:
        server.cleanup()


def test_two_migrations_at_once_make_one_catalog(postgres):
    """Two `airflow db migrate` at once on a new database (replicas starting together): the second
    failed half-way, creating what the first had made (Airflow's migration lock does not cover its
    external DB managers on a new database). They now take turns; the second finds the catalog
    migrated. The test holds the lock until both wait for it, so that they start together."""
    import subprocess
    import sys
    import time

    import psycopg2

    from airflow_ol_catalog.store.migrate import current_revision, head_revision

    url = postgres.create_database("two_migrations")
    key = 0x6F6C6367  # store/migrations/env.py MIGRATION_LOCK
    holder = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="two_migrations")
    holder.autocommit = True
    script = "import sys; from airflow_ol_catalog.store.migrate import upgrade; upgrade(sys.argv[1])"
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (key,))
        migrations = [
            subprocess.Popen(
                [sys.executable, "-c", script, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(2)
        ]
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
        deadline = time.monotonic() + 60
        while True:
            cur.execute(waiting, (key,))
            if cur.fetchone()[0] == 2:
                break
            assert time.monotonic() < deadline, "the migrations did not both wait for the lock"
            assert all(m.poll() is None for m in migrations), [m.communicate()[0] for m in migrations]
            time.sleep(0.05)
        cur.execute("SELECT pg_advisory_unlock(%s)", (key,))
    holder.close()
    outputs = [m.communicate(timeout=300)[0] for m in migrations]
    assert [m.returncode for m in migrations] == [0, 0], outputs
    engine = create_engine(url)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision() and partitions.is_partitioned(conn)
    engine.dispose()
