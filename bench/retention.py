"""Retention benchmark: the retention window applied to a catalog of 1,000,000 raw events, in bounded memory.

    .venv/bin/python bench/retention.py [--events 1000000] [--backend sqlite|postgresql] [--from-revision 0014]

Builds the catalog directly in the tables (1,000 jobs, 5 events per run, event times spread over
two years; building through the projection would take far longer and retention does not care),
then deletes what is older than a year, keeping the 10 newest runs of each job. Reports the time
and how much the process's peak memory grew while deleting.

With `--from-revision`, the catalog is built at that migration and then migrated to the newest
one, timed and checked (on PostgreSQL, 0014 to now is the event log becoming partitioned by month).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import PostgresServer  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from airflow_ol_catalog.events.naming import search_key  # noqa: E402
from airflow_ol_catalog.ingest.retention import apply_retention  # noqa: E402
from airflow_ol_catalog.store import event_tally, migrate, partitions  # noqa: E402
from airflow_ol_catalog.store.engine import get_engine, write_transaction  # noqa: E402
from airflow_ol_catalog.store.tables import edge, event, job, run  # noqa: E402

JOBS = 1000
EVENTS_PER_RUN = 5
CHUNK = 20_000


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_months(conn, since: datetime, until: datetime) -> None:
    """On a partitioned log: the months of that span, as made month by month while the events came."""
    if not partitions.is_partitioned(conn):
        return
    partitions.serialise_changes(conn)
    month = partitions.Month.of(since)
    while month.start < until:
        if month not in partitions.monthly_partitions(conn):
            partitions.add_month(conn, month)
        month = partitions.Month.of(month.end)


def build(engine, events: int) -> None:
    now = datetime.now(timezone.utc)
    span = timedelta(days=730)
    runs = events // EVENTS_PER_RUN
    with write_transaction(engine) as conn:
        make_months(conn, now - span, now)
        conn.execute(
            insert(job),
            [
                {
                    "id": j + 1,
                    "namespace": "bench",
                    "name": f"job_{j}",
                    "search_key": search_key("bench", f"job_{j}"),
                    "placeholder": False,
                    "first_seen_at": now - span,
                    "last_seen_at": now,
                }
                for j in range(JOBS)
            ],
        )
        conn.execute(
            insert(edge),
            [
                {
                    "job_id": j + 1,
                    "dataset_id": j + 1,
                    "direction": "out",
                    "first_seen_at": now - span,
                    "last_seen_at": now - span,
                    "last_run_id": None,
                    "run_count": 1,
                    "confirmed": True,
                    "declared": False,
                }
                for j in range(JOBS)
            ],
        )
    payload = '{"eventType":"COMPLETE","job":{"name":"x","namespace":"bench"},"producer":"bench","run":{"runId":"r"}}'
    for start in range(0, runs, CHUNK // EVENTS_PER_RUN):
        run_rows, event_rows = [], []
        for r in range(start, min(runs, start + CHUNK // EVENTS_PER_RUN)):
            when = now - span * (1 - r / runs)
            run_id = str(uuid.UUID(int=r))
            run_rows.append(
                {
                    "id": r + 1,
                    "run_id": run_id,
                    "job_id": r % JOBS + 1,
                    "state": "COMPLETE",
                    "state_rank": 3,
                    "state_time": when,
                    "started_at": when,
                    "ended_at": when,
                    "placeholder": False,
                    "first_event_at": when,
                    "last_event_at": when,
                }
            )
            for e in range(EVENTS_PER_RUN):
                event_rows.append(
                    {
                        "digest": f"{r:032x}{e:032x}",
                        "received_at": when,
                        "event_time": when,
                        "kind": "run",
                        "event_type": "COMPLETE",
                        "producer": "bench",
                        "namespace": "bench",
                        "run_id": run_id,
                        "job_name": f"job_{r % JOBS}",
                        "quarantined": False,
                        "payload": payload,
                    }
                )
        with write_transaction(engine) as conn:
            conn.execute(insert(run), run_rows)
            conn.execute(insert(event), event_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--from-revision", help="build at this migration, then migrate to the newest")
    args = parser.parse_args()
    postgres = None
    if args.backend == "postgresql":
        postgres = PostgresServer().start()
        url = postgres.create_database("retention_bench")
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='olc-retention-')}/catalog.db"
    try:
        migrate.upgrade(url, args.from_revision or "heads")
        engine = get_engine(url)
        started = time.monotonic()
        build(engine, args.events)
        if not args.from_revision:  # built beside ingest: count it as the migration would have
            with write_transaction(engine) as conn:
                event_tally.recount(conn)
        print(f"built {args.events:,} events in {time.monotonic() - started:.0f} s ({args.backend})", flush=True)
        if args.from_revision:
            engine.dispose()
            started = time.monotonic()
            migrate.upgrade(url)
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(event)).scalar_one()
                months = len(partitions.monthly_partitions(conn)) if partitions.is_partitioned(conn) else 0
            assert count == args.events, f"{count:,} events after migrating, {args.events:,} before"
            print(
                f"migrated from {args.from_revision} in {time.monotonic() - started:.1f} s: "
                f"{count:,} events kept, {months} monthly partitions",
                flush=True,
            )
        dry = apply_retention(engine, days=365, keep_runs_per_job=10, dry_run=True)
        print(
            f"dry run: would delete {dry['runs']:,} runs and {dry['events']:,} events; counted in {dry['seconds']:.1f} s",
            flush=True,
        )
        before = peak_mb()
        result = apply_retention(engine, days=365, keep_runs_per_job=10)
        assert (result["runs"], result["events"]) == (dry["runs"], dry["events"]), (
            "the dry run must report what the real run deletes"
        )
        grew = peak_mb() - before
        with engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(event)).scalar_one()
            edges = conn.execute(select(func.count()).select_from(edge)).scalar_one()
            assert event_tally.totals(conn) == (left, 0), "the log's tally follows what retention deleted"
        print(
            f"retention: {result['runs']:,} runs and {result['events']:,} events deleted "
            f"({result['months']} months of them dropped whole) in {result['seconds']:.1f} s; "
            f"{left:,} events and {edges:,} edges left; peak memory grew {grew:.0f} MB (peak {peak_mb():.0f} MB)"
        )
    finally:
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
