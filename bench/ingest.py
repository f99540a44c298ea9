"""Ingestion benchmark: a real api-server, measured against a do-nothing route of the same app.

    .venv/bin/python bench/ingest.py [--seconds 10] [--rounds 3] [--backend sqlite|postgresql] [--workers N]

Single-event POSTs come from `wrk` (16 connections, every request a new event); the batch
endpoint from a Python client posting batches of 1,000 events. Every event has its own run id
(a UUID, in order like the time-based ones producers make) and its own event time, a
millisecond after the one before, as a stream of producers' events has. Rounds alternate
between the routes and the medians are reported, so a noisy machine affects both sides alike.

Each way of sending is measured twice: into the full catalog (the event log and the projection,
the normal path), and into the event log alone. The server runs with
`unknown_namespace_policy = quarantine`: events of a registered namespace go to the catalog,
events of an unregistered one are stored in the log and kept out of the catalog, which is the
log's own cost.

For batches it also prints the CPU an event cost the API server (all its workers) and PostgreSQL
(all its processes), read from /proc around each run, and the rates those costs allow: a worker's
Python runs on one core at most, and everything shares the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import AirflowServer, PostgresServer  # noqa: E402

EVENT = ROOT / "examples" / "02_table_lineage" / "02_build_invoices_complete.json"
RUN_MARK, TIME_MARK = "RUN-ID-MARK", "EVENT-TIME-MARK"
CATALOG_NAMESPACE, LOG_NAMESPACE = "bench", "bench-log-only"
# The write path's goals for the typical event on a two-core machine (README, Performance):
# single events into the catalog (ratio to the baseline at least, p99 ms at most) and batches
# (events/s at least), by backend.
GOALS = {
    "postgresql": {"single": (0.6, 30.0), "catalog": 8_000, "log": 15_000},
    "sqlite": {"catalog": 12_000, "log": 20_000},
}
# The n-th request's event: run id "<run prefix><n as 12 hex digits>", event time n ms after wrk started.
LUA = """
local counter = 0
local start = os.time()
local head = [==[{head}]==]
local middle = [==[{middle}]==]
local tail = [==[{tail}]==]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  counter = counter + 1
  local run = "{run}" .. string.format("%012x", counter)
  local time = os.date("!%Y-%m-%dT%H:%M:%S", start + math.floor(counter / 1000)) .. string.format(".%03dZ", counter % 1000)
  return wrk.format(nil, "{path}", nil, head .. {first} .. middle .. {second} .. tail)
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def _schema(producer: str, *fields: tuple[str, str]) -> dict:
    return {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "fields": [{"name": n, "type": t} for n, t in fields],
    }


def _typical(payload: dict) -> dict:
    """The example task's COMPLETE reading the table its SQL names: one input, one output with its
    schema, SQL, job type and parent run (1.9 KB), like the lineage-bearing task events of the
    shared corpus (1.6-1.8 KB)."""
    payload["inputs"] = [{"namespace": "postgres://pg.prod.internal:5432", "name": "shop.public.orders"}]
    return payload


def _heavy(payload: dict) -> dict:
    """Both tables the SQL reads, with schemas, and column lineage on the output (3.4 KB)."""
    producer, source = payload["producer"], "postgres://pg.prod.internal:5432"
    payload["inputs"] = [
        {
            "namespace": source,
            "name": "shop.public.orders",
            "facets": {
                "schema": _schema(producer, ("id", "bigint"), ("customer_id", "bigint"), ("ordered_at", "timestamp"))
            },
        },
        {
            "namespace": source,
            "name": "shop.public.order_lines",
            "facets": {"schema": _schema(producer, ("order_id", "bigint"), ("amount", "numeric(14,2)"))},
        },
    ]
    payload["outputs"][0]["facets"]["columnLineage"] = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
        "fields": {
            "order_id": {"inputFields": [{"namespace": source, "name": "shop.public.orders", "field": "id"}]},
            "customer_id": {
                "inputFields": [{"namespace": source, "name": "shop.public.orders", "field": "customer_id"}]
            },
            "total": {
                "inputFields": [
                    {
                        "namespace": source,
                        "name": "shop.public.order_lines",
                        "field": "amount",
                        "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION"}],
                    }
                ]
            },
        },
    }
    return payload


EVENTS = {"typical": _typical, "heavy": _heavy}


class Template:
    """The event as text, cut where its run id and its event time go."""

    def __init__(self, namespace: str, kind: str):
        payload = EVENTS[kind](json.loads(EVENT.read_text()))
        payload["run"]["runId"] = RUN_MARK
        payload["eventTime"] = TIME_MARK
        payload["job"]["namespace"] = namespace
        payload["run"]["facets"]["parent"]["job"]["namespace"] = namespace
        self.text = json.dumps(payload)
        self.head, first, self.middle, _, self.tail = re.split(f"({RUN_MARK}|{TIME_MARK})", self.text)
        self.run_first = first == RUN_MARK

    def event(self, run: str, when: datetime) -> str:
        stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        first, second = (run, stamp) if self.run_first else (stamp, run)
        return f"{self.head}{first}{self.middle}{second}{self.tail}"

    def size(self) -> int:
        return len(self.event(str(uuid.uuid4()), datetime.now(timezone.utc)))


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"cannot read wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    wrk: str, server: AirflowServer, path: str, seconds: int, connections: int, namespace: str, kind: str
) -> dict:
    event = Template(namespace, kind)
    first, second = ("run", "time") if event.run_first else ("time", "run")
    script = LUA.format(
        head=event.head,
        middle=event.middle,
        tail=event.tail,
        first=first,
        second=second,
        token=server.token,
        path="/" + path,
        run=str(uuid.uuid4())[:24],
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", handle.name, server.url.rstrip("/")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user and system) that a process and its living descendants have used, from /proc."""
    parent, used = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            parent[int(entry)], used[int(entry)] = int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS
    tree, added = {root}, True
    while added:
        grown = tree | {pid for pid, up in parent.items() if up in tree}
        added, tree = grown != tree, grown
    return sum(used.get(pid, 0.0) for pid in tree)


class Batches(NamedTuple):
    rate: float  # events/s
    server_us: float  # the API server's CPU per event, its workers included
    database_us: float | None  # PostgreSQL's, all its processes (None on SQLite, which runs in the server)
    seconds: float


def run_batches(
    server: AirflowServer,
    batches: int,
    size: int,
    clients: int,
    namespace: str,
    kind: str,
    postgres: PostgresServer | None = None,
) -> Batches:
    event = Template(namespace, kind)
    start, bodies = datetime.now(timezone.utc), []
    for batch in range(batches):
        run = str(uuid.uuid4())[:24]
        events = (event.event(f"{run}{i:012x}", start + timedelta(milliseconds=batch * size + i)) for i in range(size))
        bodies.append(("[" + ",".join(events) + "]").encode())
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    url = server.url + "ol-catalog/api/v1/lineage/batch"

    def post(body: bytes) -> None:
        response = requests.post(url, data=body, headers=headers, timeout=300)
        assert response.status_code == 200, response.text[:300]

    database = int((postgres.dir / "data" / "postmaster.pid").read_text().split()[0]) if postgres else None
    server_before = tree_cpu_seconds(server.process.pid)
    database_before = tree_cpu_seconds(database) if database else 0.0
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))
    seconds, events = time.perf_counter() - started, batches * size
    server_us = (tree_cpu_seconds(server.process.pid) - server_before) / events * 1e6
    database_us = (tree_cpu_seconds(database) - database_before) / events * 1e6 if database else None
    return Batches(events / seconds, server_us, database_us, seconds)


def print_cpu(batch_runs: dict[str, list[Batches]], workers: int, cores: int) -> None:
    """The CPU each batched event cost (medians of the rounds), and the rate that cost allows: a
    worker runs its Python on one core at most (the interpreter lock), and all of it shares the
    machine's cores with the database and the client."""
    print(
        f"{'batches: CPU per event (median)':<36}{'API server':>12}{'database':>12}"
        f"{f'bound: {workers} worker(s)':>22}{f'bound: {cores} cores':>18}"
    )
    for name, runs in batch_runs.items():
        server = statistics.median(run.server_us for run in runs)
        database_runs = [run.database_us for run in runs if run.database_us is not None]
        database = statistics.median(database_runs) if database_runs else 0.0
        by_workers = min(workers, cores) * 1e6 / server
        by_cores = cores * 1e6 / (server + database)
        shown = f"{database:>9.0f} us" if database_runs else f"{'in server':>12}"
        print(f"{f'  into the {name}':<36}{server:>9.0f} us{shown}{by_workers:>20,.0f} /s{by_cores:>16,.0f} /s")


def verdict(met: bool) -> str:
    """How the benchmarks print a goal's outcome (bench/graph.py and bench/ui.py too)."""
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--workers", type=int, default=1, help="API-server worker processes ([api] workers); the goals are for one"
    )
    parser.add_argument(
        "--event",
        choices=sorted(EVENTS),
        default="typical",
        help="typical: one input, one output (1.9 KB); heavy: two inputs, schemas, column lineage (3.4 KB)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an [ol_catalog] option for the server, e.g. view_prebuild=False (repeatable)",
    )
    args = parser.parse_args()
    options = dict(option.split("=", 1) for option in args.option)

    wrk = ensure_wrk()
    # recycled WAL segments, as a server that has run a while has (tests/servers.py)
    postgres = PostgresServer().start().recycle_wal() if args.backend == "postgresql" else None
    server = AirflowServer(
        postgres.create_database("bench") if postgres else None,
        extra_env={
            "OL_CATALOG_BENCHMARK_ROUTES": "1",
            "AIRFLOW__OL_CATALOG__UNKNOWN_NAMESPACE_POLICY": "quarantine",
            "AIRFLOW__API__WORKERS": str(args.workers),
        },
        **options,
    )
    nothing, single = "ol-catalog/api/v1/benchmark/nothing", "ol-catalog/api/v1/lineage"
    try:
        server.start()
        server.cli("ol-catalog", "namespaces", "create", CATALOG_NAMESPACE)
        print(
            f"api-server up ({args.backend}, {args.workers} worker(s){''.join(f', {k}={v}' for k, v in options.items())}); {args.event} event of {Template(CATALOG_NAMESPACE, args.event).size() / 1000:.1f} KB; "
            f"{args.rounds} rounds of {args.seconds} s, {args.connections} connections"
        )
        for path, namespace in (
            (nothing, CATALOG_NAMESPACE),
            (single, CATALOG_NAMESPACE),
            (single, LOG_NAMESPACE),
        ):  # warm-up
            run_wrk(wrk, server, path, 2, args.connections, namespace, args.event)
        wrk_runs: dict[str, list[dict]] = {"nothing": [], "catalog": [], "log": []}
        batch_runs: dict[str, list[Batches]] = {"catalog": [], "log": []}
        for round_ in range(args.rounds):
            for name, path, namespace in (
                ("nothing", nothing, CATALOG_NAMESPACE),
                ("catalog", single, CATALOG_NAMESPACE),
                ("log", single, LOG_NAMESPACE),
            ):
                wrk_runs[name].append(run_wrk(wrk, server, path, args.seconds, args.connections, namespace, args.event))
            for target, namespace in (("catalog", CATALOG_NAMESPACE), ("log", LOG_NAMESPACE)):
                batch_runs[target].append(run_batches(server, 20, 1000, 2, namespace, args.event, postgres))
            print(
                f"  round {round_ + 1}: nothing {wrk_runs['nothing'][-1]['rps']:.0f} req/s; single events/s: catalog "
                f"{wrk_runs['catalog'][-1]['rps']:.0f}, log only {wrk_runs['log'][-1]['rps']:.0f}; batch events/s: catalog "
                f"{batch_runs['catalog'][-1].rate:.0f}, log only {batch_runs['log'][-1].rate:.0f}",
                flush=True,
            )
        med = {
            name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
            for name, runs in wrk_runs.items()
        }
        errors = sum(r["errors"] for runs in wrk_runs.values() for r in runs)
        base = med["nothing"]["rps"]
        print()
        goals = GOALS[args.backend] if args.event == "typical" else {}
        print(f"{'route':<52}{'per s (median)':>16}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}  goal")
        rows = (
            ("do-nothing POST (baseline)", "nothing"),
            ("POST /api/v1/lineage, into the catalog", "catalog"),
            ("POST /api/v1/lineage, into the event log only", "log"),
        )
        for label, name in rows:
            ratio = med[name]["rps"] / base
            goal = ""
            if name == "catalog" and "single" in goals:
                least, most = goals["single"]
                goal = (
                    f"  ratio >= {least}, p99 <= {most:.0f} ms: {verdict(ratio >= least and med[name]['p99'] <= most)}"
                )
            print(
                f"{label:<52}{med[name]['rps']:>16.0f}{med[name]['p50']:>9.1f}{med[name]['p99']:>9.1f}{ratio:>8.2f}{goal}"
            )
        for label, name in (
            ("POST /api/v1/lineage/batch, into the catalog", "catalog"),
            ("POST /api/v1/lineage/batch, into the event log only", "log"),
        ):
            rate = statistics.median(run.rate for run in batch_runs[name])
            goal = f"{'':26}  >= {goals[name]:,} events/s: {verdict(rate >= goals[name])}" if name in goals else ""
            print(f"{label:<52}{rate:>16.0f}{goal}")
        print()
        print_cpu(batch_runs, args.workers, os.cpu_count() or 1)
        print(f"non-2xx answers: {errors}")
    finally:
        server.cleanup()
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
