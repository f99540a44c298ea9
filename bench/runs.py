"""Runs benchmark: what a job's history costs the reads that show its newest runs.

    .venv/bin/python bench/runs.py [--runs 100000] [--backend sqlite|postgresql] [--samples 40]

Builds, directly in the tables, one job with a long history (`--runs` runs, one a minute, some
without a START, a few placeholders) in a namespace of its own, and 200 jobs of 10 runs each,
one of them alone in another namespace. Then times, in-process, the reads that show a job's
newest runs, each against a baseline in the same run: a job's ten latest runs (`latestRuns` of
a job's view, lineage graphs' nodes, the impact report), for the long job against the job of 10
runs; and a namespace's jobs list filtered by the state of each job's newest run
(`lastRunStates`), for the long job's namespace, against the same list unfiltered; and a
dataset's view, whose `lastModifiedAt` and usual write interval come from its newest completed
writes, for the table every run of the long job wrote against one written 10 times; a job's
runs list (a page of 100 newest first, and its total) and its versions (one per set of inputs
and outputs its runs had), for the long job against the job of 10 runs; and the list of every
job's runs newest first (a page, and its total), unfiltered and in one state, against the same
on a catalog of the short jobs alone, built beside it. A ratio near 1 means the read does not
grow with the history.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import PostgresServer  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from airflow_ol_catalog.events.naming import namespace_key, search_key  # noqa: E402
from airflow_ol_catalog.lineage.catalog import (  # noqa: E402
    get_dataset,
    job_versions,
    list_jobs,
    list_runs,
    newest_run_rows,
    runs_in_state,
)
from airflow_ol_catalog.store import migrate  # noqa: E402
from airflow_ol_catalog.store.engine import get_engine, read_connection, write_transaction  # noqa: E402
from airflow_ol_catalog.store.tables import dataset, job, run  # noqa: E402

SHORT_JOBS = 200
SHORT_RUNS = 10
CHUNK = 20_000
NAMESPACE, LONG, SHORT = "bench", "bench-long", "bench-short"
DATASETS = "s3://bench"
# A read whose time grows with the history is this many times slower for the long job, or more.
GROWS = 2.0


def build(engine, runs: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with write_transaction(engine) as conn:
        conn.execute(
            insert(job),
            [
                {
                    "id": i,
                    "namespace": namespace,
                    "name": f"job-{i}",
                    "first_seen_at": start,
                    "last_seen_at": start,
                    "placeholder": False,
                    "search_key": search_key(namespace, f"job-{i}"),
                }
                for i in range(1, SHORT_JOBS + 2)
                for namespace in [LONG if i == 1 else SHORT if i == 2 else NAMESPACE]
            ],
        )

    def row(job_id: int, n: int) -> dict:
        at = start + timedelta(minutes=n)
        return {
            "run_id": f"run-{job_id}-{n:09d}",
            "job_id": job_id,
            "state": "COMPLETE" if n % 7 else "FAIL",
            "state_rank": 3,
            "state_time": at + timedelta(seconds=30),
            "started_at": None if n % 11 == 0 else at,  # its START never came
            "ended_at": at + timedelta(seconds=30),
            "placeholder": n % 97 == 0,
            "first_event_at": at,
            "last_event_at": at + timedelta(seconds=30),
        }

    rows = [row(job_id, n) for job_id in range(2, SHORT_JOBS + 2) for n in range(SHORT_RUNS)]
    rows += (row(1, n) for n in range(runs))
    for first in range(0, len(rows), CHUNK):
        with write_transaction(engine) as conn:
            conn.execute(insert(run), rows[first : first + CHUNK])
    with write_transaction(engine) as conn:
        # Each job writes a table of its own, every run of it: the long job's is written by its history.
        # Each write's end is its run's if the run completed, as the projection keeps it.
        for job_id, table in ((1, LONG), (2, SHORT)):
            conn.execute(
                insert(dataset).values(
                    id=job_id,
                    namespace_key=namespace_key(DATASETS),
                    name=table,
                    namespace=DATASETS,
                    first_seen_at=start,
                    last_seen_at=start,
                    search_key=search_key(DATASETS, table),
                )
            )
            conn.execute(
                text(
                    "INSERT INTO ol_catalog_run_dataset (run_pk, dataset_id, direction, ended_at) "
                    "SELECT id, :job, 'out', CASE WHEN state = 'COMPLETE' THEN ended_at END "
                    "FROM ol_catalog_run WHERE job_id = :job"
                ),
                {"job": job_id},
            )
        conn.execute(text("ANALYZE"))


def timed(engine, samples: int, work) -> tuple[float, float]:
    times = []
    for _ in range(samples):
        with read_connection(engine) as conn:
            started = time.perf_counter()
            work(conn)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the job with a long history")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()

    server = PostgresServer().start() if args.backend == "postgresql" else None
    try:
        engines = []
        started = time.perf_counter()
        for name, runs in (("runs", args.runs), ("short", 0)):  # the catalog, and its short jobs alone
            url = server.create_database(name) if server else f"sqlite:///{tempfile.mkdtemp()}/catalog.db"
            migrate.upgrade(url)
            engines.append(get_engine(url))
            build(engines[-1], runs)
        engine, short = engines
        print(
            f"{args.backend}: one job of {args.runs:,} runs among {SHORT_JOBS} of {SHORT_RUNS}, "
            f"built in {time.perf_counter() - started:.1f} s; {args.samples} samples each"
        )
        pairs = [
            (
                "a job's 10 newest runs",
                lambda conn: newest_run_rows(conn, [1], 10),
                lambda conn: newest_run_rows(conn, [2], 10),
                engine,
                f"the job of {args.runs:,} runs against one of {SHORT_RUNS}",
            ),
            (
                "jobs by their newest run's state",
                lambda conn: list_jobs(conn, LONG, 100, 0, ["COMPLETED"]),
                lambda conn: list_jobs(conn, LONG, 100, 0),
                engine,
                "the job of the long history's namespace, filtered (COMPLETED) against unfiltered",
            ),
            (
                "a dataset's view (lastModifiedAt)",
                lambda conn: get_dataset(conn, DATASETS, LONG),
                lambda conn: get_dataset(conn, DATASETS, SHORT),
                engine,
                f"the table every run of the long job wrote against one written {SHORT_RUNS} times",
            ),
            (
                "a job's runs, newest first",
                lambda conn: list_runs(conn, LONG, "job-1", 100, 0),
                lambda conn: list_runs(conn, SHORT, "job-2", 100, 0),
                engine,
                f"a page of 100 and the total, the job of {args.runs:,} runs against one of {SHORT_RUNS}",
            ),
            (
                "a job's versions",
                lambda conn: job_versions(conn, LONG, "job-1"),
                lambda conn: job_versions(conn, SHORT, "job-2"),
                engine,
                f"the job of {args.runs:,} runs against one of {SHORT_RUNS}: every run counts, one is shown",
            ),
            (
                "every job's runs, newest first",
                lambda conn: runs_in_state(conn, None, 100, 0),
                lambda conn: runs_in_state(conn, None, 100, 0),
                short,
                f"a page of 100 and the total, against the same without the long job ({SHORT_JOBS * SHORT_RUNS:,} runs)",
            ),
            (
                "every job's failed runs",
                lambda conn: runs_in_state(conn, "FAILED", 100, 0),
                lambda conn: runs_in_state(conn, "FAILED", 100, 0),
                short,
                "the same, in one state (FAILED)",
            ),
        ]
        print(f"\n{'read':<34} {'p50 ms':>8} {'p99 ms':>8} {'baseline p50':>13} {'ratio':>6}  verdict")
        for name, work, baseline, baseline_engine, what in pairs:
            p50, p99 = timed(engine, args.samples, work)
            base, _ = timed(baseline_engine, args.samples, baseline)
            ratio = p50 / base
            verdict = f"grows with the history (ratio >= {GROWS})" if ratio >= GROWS else "does not grow"
            print(f"{name:<34} {p50:8.2f} {p99:8.2f} {base:13.2f} {ratio:6.2f}  {verdict}: {what}")
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
