"""Load: clients posting single events for a while; every acknowledged event must be in the catalog.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 16] [--backend sqlite|postgresql]
        [--workers N] [--replicas N] [--hot-share 0.9] [--option NAME=VALUE]

Each client posts single events (a run's COMPLETE with inputs and outputs, a new run each time,
a few datasets and jobs shared by all clients) as fast as it is answered. Reports throughput,
p50/p99 latency, the answers by status, and checks the event log and the catalog afterwards.

`--workers` runs that many API-server workers (`[api] workers`), `--replicas` that many
api-server processes on one database (as the docker-compose file runs them; clients take them in
turn). `--hot-share` sends that share of the events to one namespace and spreads the rest over
nine others. On PostgreSQL a sampler reads `pg_stat_activity` and `pg_locks` every 50 ms and
reports what the catalog's connections were waiting on: the share of samples in each wait event
(`running` when on the CPU, `client` when idle in a transaction, waiting for the API server),
and the locks waited for.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import AirflowServer, PostgresServer  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from airflow_ol_catalog.store.tables import event, run  # noqa: E402

TEMPLATE = json.loads((ROOT / "examples" / "02_table_lineage" / "02_build_invoices_complete.json").read_text())


def client(
    url: str,
    token: str,
    number: int,
    until: float,
    hot_share: float | None,
    latencies: list,
    statuses: Counter,
    acknowledged: list,
) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    chance = random.Random(number)
    while time.monotonic() < until:
        payload = dict(TEMPLATE, run={**TEMPLATE["run"], "runId": str(uuid.uuid4())})
        payload["job"] = {**TEMPLATE["job"], "name": f"load.job_{number % 4}"}
        if hot_share is not None:
            hot = chance.random() < hot_share
            payload["job"]["namespace"] = "load-hot" if hot else f"load-cold-{chance.randrange(9)}"
        started = time.perf_counter()
        try:
            answer = session.post(
                url + "ol-catalog/api/v1/lineage", data=json.dumps(payload), headers=headers, timeout=60
            )
            status = answer.status_code
        except requests.RequestException:
            status = "error"
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
        if status == 201:
            acknowledged.append(payload["run"]["runId"])


class WaitSampler(threading.Thread):
    """What the catalog's PostgreSQL connections wait on, sampled every 50 ms while the load runs."""

    ACTIVITY = text(
        "SELECT CASE WHEN state = 'idle in transaction' THEN 'client' "
        "ELSE coalesce(wait_event_type || ':' || wait_event, 'running') END "
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND state IN ('active', 'idle in transaction')"
    )
    LOCKS = text(
        "SELECT l.locktype || coalesce(' ' || c.relname, '') || ' ' || l.mode FROM pg_locks l "
        "LEFT JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted"
    )
    BLOCKED = text(  # what the transactions that wait for a row or another transaction were running
        "SELECT left(regexp_replace(a.query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity a "
        "WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'"
    )

    def __init__(self, url: str, until: float) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(url, pool_size=1)
        self.until = until
        self.samples = 0
        self.waits: Counter = Counter()
        self.locks: Counter = Counter()
        self.blocked: Counter = Counter()

    def run(self) -> None:
        with self.engine.connect() as conn:
            while time.monotonic() < self.until:
                self.samples += 1
                self.waits.update(conn.execute(self.ACTIVITY).scalars())
                self.locks.update(conn.execute(self.LOCKS).scalars())
                self.blocked.update(conn.execute(self.BLOCKED).scalars())
                conn.rollback()
                time.sleep(0.05)
        self.engine.dispose()

    def report(self) -> None:
        busy = sum(self.waits.values()) or 1
        print(
            f"PostgreSQL, {self.samples} samples of the catalog's busy connections (average {busy / self.samples:.1f}):"
        )
        for what, count in self.waits.most_common(8):
            print(f"  {100 * count / busy:5.1f} %  {what}")
        print("locks waited for (connections waiting, average per sample):" if self.locks else "no lock waited for")
        for what, count in self.locks.most_common(6):
            print(f"  {count / self.samples:6.2f}  {what}")
        for query, count in self.blocked.most_common(4):
            print(f"  {count / self.samples:6.2f}  waiting in: {query}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="API-server workers ([api] workers)")
    parser.add_argument("--replicas", type=int, default=1, help="api-server processes on one database")
    parser.add_argument("--hot-share", type=float, help="share of the events sent to one namespace, e.g. 0.9")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an [ol_catalog] option for the servers, e.g. prepared_statements=False (repeatable)",
    )
    args = parser.parse_args()
    options = dict(option.split("=", 1) for option in args.option)
    if args.replicas > 1 and args.backend != "postgresql":
        parser.error("--replicas needs --backend postgresql (SQLite is one machine's file)")
    # recycled WAL segments, as a server that has run a while has (tests/servers.py)
    postgres = PostgresServer().start().recycle_wal() if args.backend == "postgresql" else None
    conn = postgres.create_database("airflow_load") if postgres else None
    workers = {"AIRFLOW__API__WORKERS": str(args.workers)}
    servers = [AirflowServer(conn, extra_env=workers, **options) for _ in range(args.replicas)]
    try:
        servers[0].start()
        for replica in servers[1:]:  # the database is migrated: the others only serve
            replica.start_api_server()
        token = servers[0].token
        latencies: list[float] = []
        statuses: Counter = Counter()
        acknowledged: list[str] = []
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=client,
                args=(
                    servers[i % len(servers)].url,
                    token,
                    i,
                    until,
                    args.hot_share,
                    latencies,
                    statuses,
                    acknowledged,
                ),
            )
            for i in range(args.clients)
        ]
        sampler = WaitSampler(conn, until) if conn else None
        started = time.monotonic()
        for t in threads:
            t.start()
        if sampler:
            sampler.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        if sampler:
            sampler.join()
        engine = create_engine(servers[0].sql_alchemy_conn)
        with engine.connect() as db:
            stored = set(db.execute(select(event.c.run_id)).scalars())
            runs = db.execute(select(func.count()).select_from(run).where(run.c.placeholder.is_(False))).scalar_one()
        engine.dispose()
        missing = [r for r in acknowledged if r not in stored]
        ordered = sorted(latencies)
        shape = f"{args.replicas} api-server(s) x {args.workers} worker(s)"
        if args.hot_share is not None:
            shape += f", {args.hot_share:.0%} of events to one namespace"
        print(
            f"{args.backend}, {shape}: {len(acknowledged):,} events acknowledged in {elapsed:.0f} s by "
            f"{args.clients} clients = {len(acknowledged) / elapsed:,.0f} events/s"
        )
        print(
            f"latency p50 {statistics.median(ordered):.1f} ms, p99 {ordered[int(0.99 * len(ordered))]:.1f} ms; answers {dict(statuses)}"
        )
        print(
            f"acknowledged but not stored: {len(missing)}; runs in the catalog: {runs:,} (events stored: {len(stored):,})"
        )
        if sampler:
            sampler.report()
        if missing or any(isinstance(s, int) and s >= 500 for s in statuses) or runs != len(stored):
            sys.exit("FAILED: lost events, 5xx answers or unprojected events")
    finally:
        for server in servers:
            server.cleanup()
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
