"""Load: 16 clients for 60 s against one api-server; every acknowledged event must be in the catalog.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 16] [--backend sqlite|postgresql]

Each client posts single events (a run's COMPLETE with inputs and outputs, a new run each time,
a few datasets and jobs shared by all clients) as fast as it is answered. Reports throughput,
p50/p99 latency, the answers by status, and checks the event log and the catalog afterwards.
"""

from __future__ import annotations

import argparse
import json
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
from sqlalchemy import create_engine, func, select  # noqa: E402

from airflow_ol_catalog.store.tables import event, run  # noqa: E402

TEMPLATE = json.loads((ROOT / "examples" / "02_table_lineage" / "02_build_invoices_complete.json").read_text())


def client(
    server: AirflowServer, number: int, until: float, latencies: list, statuses: Counter, acknowledged: list
) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    while time.monotonic() < until:
        payload = dict(TEMPLATE, run={**TEMPLATE["run"], "runId": str(uuid.uuid4())})
        payload["job"] = {**TEMPLATE["job"], "name": f"load.job_{number % 4}"}
        started = time.perf_counter()
        try:
            answer = session.post(
                server.url + "ol-catalog/api/v1/lineage", data=json.dumps(payload), headers=headers, timeout=60
            )
            status = answer.status_code
        except requests.RequestException:
            status = "error"
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
        if status == 201:
            acknowledged.append(payload["run"]["runId"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    postgres = PostgresServer().start() if args.backend == "postgresql" else None
    server = AirflowServer(postgres.create_database("airflow_load") if postgres else None)
    try:
        server.start()
        latencies: list[float] = []
        statuses: Counter = Counter()
        acknowledged: list[str] = []
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(server, i, until, latencies, statuses, acknowledged))
            for i in range(args.clients)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        engine = create_engine(server.sql_alchemy_conn)
        with engine.connect() as conn:
            stored = set(conn.execute(select(event.c.run_id)).scalars())
            runs = conn.execute(select(func.count()).select_from(run).where(run.c.placeholder.is_(False))).scalar_one()
        engine.dispose()
        missing = [r for r in acknowledged if r not in stored]
        ordered = sorted(latencies)
        print(
            f"{args.backend}: {len(acknowledged):,} events acknowledged in {elapsed:.0f} s by {args.clients} clients = {len(acknowledged) / elapsed:,.0f} events/s"
        )
        print(
            f"latency p50 {statistics.median(ordered):.1f} ms, p99 {ordered[int(0.99 * len(ordered))]:.1f} ms; answers {dict(statuses)}"
        )
        print(
            f"acknowledged but not stored: {len(missing)}; runs in the catalog: {runs:,} (events stored: {len(stored):,})"
        )
        if missing or any(isinstance(s, int) and s >= 500 for s in statuses) or runs != len(stored):
            sys.exit("FAILED: lost events, 5xx answers or unprojected events")
    finally:
        server.cleanup()
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
