"""Graph benchmark: a synthetic catalog built through the real projection, then lineage, impact, search.

    .venv/bin/python bench/graph.py [--backend sqlite|postgresql|both] [--samples 200]

The catalog: about 50,000 datasets in 100 domains of 530 tables; 10,000 jobs (100 per domain),
each run once (START then COMPLETE) reading 16 tables of its domain and writing 5 later ones, so
about 200,000 edges. One hub dataset is read by 1,000 jobs spread over every domain, which puts
over 10,000 datasets downstream of it. The queries run in-process through the same functions the API calls (no HTTP).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from airflow_ol_catalog.events import validate_event  # noqa: E402
from airflow_ol_catalog.ingest.event_log import Submission, store_events  # noqa: E402
from airflow_ol_catalog.lineage import impact as impact_module  # noqa: E402
from airflow_ol_catalog.lineage.catalog import search  # noqa: E402
from airflow_ol_catalog.lineage.graph import _Walk, lineage  # noqa: E402
from airflow_ol_catalog.lineage.impact import impact  # noqa: E402
from airflow_ol_catalog.lineage.view_cache import node_views  # noqa: E402
from airflow_ol_catalog.store.engine import dispose_engines, get_engine, read_connection, write_transaction  # noqa: E402
from airflow_ol_catalog.store.migrate import upgrade  # noqa: E402

DOMAINS, DATASETS_PER_DOMAIN, JOBS_PER_DOMAIN, READS, WRITES = 100, 530, 100, 16, 5
HUB_READERS = 1000
NS = "postgres://warehouse.internal:5432"
BATCH = 500


def dataset_name(domain: int, index: int) -> str:
    return f"domain_{domain:03d}.table_{index:04d}"


def events() -> list[dict]:
    rng = random.Random(7)
    hub_readers = set(range(0, DOMAINS * JOBS_PER_DOMAIN, DOMAINS * JOBS_PER_DOMAIN // HUB_READERS))
    out = []
    for domain in range(DOMAINS):
        for j in range(JOBS_PER_DOMAIN):
            number = domain * JOBS_PER_DOMAIN + j
            # Writes go to later tables than reads, so each domain flows one way (a DAG).
            cut = rng.randint(WRITES, DATASETS_PER_DOMAIN - WRITES)
            reads = rng.sample(range(cut), min(READS, cut))
            writes = rng.sample(range(cut, DATASETS_PER_DOMAIN), WRITES)
            inputs = [{"namespace": NS, "name": dataset_name(domain, i)} for i in reads]
            if number in hub_readers:
                inputs[0] = {"namespace": NS, "name": "hub.public.events"}
            outputs = [{"namespace": NS, "name": dataset_name(domain, i)} for i in writes]
            for event_type, minute in (("START", 0), ("COMPLETE", 5)):
                out.append(
                    {
                        "eventTime": f"2025-02-01T10:{minute:02d}:00Z",
                        "eventType": event_type,
                        "producer": "https://example.com/bench",
                        "run": {"runId": f"run-{number}"},
                        "job": {
                            "namespace": "bench",
                            "name": f"domain_{domain:03d}.job_{j:03d}",
                            "facets": {
                                "jobType": {"integration": "AIRFLOW", "jobType": "TASK", "processingType": "BATCH"}
                            },
                        },
                        "inputs": inputs,
                        "outputs": outputs,
                    }
                )
    return out


def build(url: str) -> float:
    upgrade(url)
    engine = get_engine(url)
    payloads = events()
    started = time.perf_counter()
    for start in range(0, len(payloads), BATCH):
        subs = [Submission.of(validate_event(p), None, 500) for p in payloads[start : start + BATCH]]
        with write_transaction(engine) as conn:
            store_events(conn, subs, "register")
    rate = len(payloads) / (time.perf_counter() - started)
    # Planner statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep them in service.
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return rate


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def measure(url: str, samples: int) -> dict:
    engine = get_engine(url)
    rng = random.Random(11)
    with read_connection(engine) as conn:
        from sqlalchemy import select

        from airflow_ol_catalog.store.tables import dataset

        names = sorted(conn.execute(select(dataset.c.name)).scalars())
    results: dict[str, list[float]] = {
        "lineage": [],
        "lineage_kept": [],
        "names_only": [],
        "explorer": [],
        "search": [],
    }
    sizes, explorer_sizes = [], []
    with read_connection(engine) as conn:
        for _ in range(samples):
            node = f"dataset:{NS}:{rng.choice(names)}"
            # Every node's view built (none kept from an earlier request), then the same graph again
            # with the views kept by the first (as when the graph is asked for again, by anyone,
            # before its jobs and datasets change), then the walk alone (nodes naming only the job
            # or dataset: what a graph cost before nodes carried their data).
            node_views.clear()
            ms, graph = timed(lineage, conn, node, 5)
            results["lineage"].append(ms)
            sizes.append(len(graph.nodes))
            results["lineage_kept"].append(timed(lineage, conn, node, 5)[0])
            with mock.patch.object(_Walk, "describe", return_value=None):
                results["names_only"].append(timed(lineage, conn, node, 5)[0])
            # what the UI's explorer asks for: two hops each way
            node_views.clear()
            ms, graph = timed(lineage, conn, node, 2, up_depth=2, down_depth=2)
            results["explorer"].append(ms)
            explorer_sizes.append(len(graph.nodes))
        for word in ("table_0042", "domain_077", "job_013", "hub", "nothing_like_this"):
            for _ in range(max(1, samples // 20)):
                results["search"].append(timed(search, conn, word, None, 10)[0])
        hub_ms, bare_ms = [], []
        for _ in range(5):
            ms, report = timed(impact, conn, f"dataset:{NS}:hub.public.events", False, 50_000)
            hub_ms.append(ms)
            # the same walk without the owners of what it reaches and the newest run of each job
            with mock.patch.object(impact_module, "_described", lambda conn, report, nodes, jobs: report):
                bare_ms.append(timed(impact, conn, f"dataset:{NS}:hub.public.events", False, 50_000)[0])
    return {
        "results": results,
        "sizes": sizes,
        "explorer_sizes": explorer_sizes,
        "hub_ms": hub_ms,
        "bare_ms": bare_ms,
        "hub_count": report["totalCount"],
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(backend: str, samples: int) -> None:
    postgres = None
    if backend == "postgresql":
        from servers import PostgresServer

        postgres = PostgresServer().start()
        url = postgres.create_database("graph_bench")
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/graph.db"
    try:
        rate = build(url)
        m = measure(url, samples)
        from sqlalchemy import func, select

        from airflow_ol_catalog.store.tables import dataset, edge, job

        with read_connection(get_engine(url)) as conn:
            counts = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (dataset, job, edge)]
        print(
            f"\n{backend}: {counts[0]:,} datasets, {counts[1]:,} jobs, {counts[2]:,} edges; built at {rate:,.0f} events/s"
        )
        print(
            f"  depth-5 lineage around a random dataset: p50 {pct(m['results']['lineage'], 0.5):.1f} ms, "
            f"p99 {pct(m['results']['lineage'], 0.99):.1f} ms (median graph {statistics.median(m['sizes']):.0f} nodes)"
        )
        print(
            f"  the same graph asked again, its nodes' views kept: p50 {pct(m['results']['lineage_kept'], 0.5):.1f} ms, "
            f"p99 {pct(m['results']['lineage_kept'], 0.99):.1f} ms; nodes naming only the job or dataset: "
            f"p50 {pct(m['results']['names_only'], 0.5):.1f} ms, p99 {pct(m['results']['names_only'], 0.99):.1f} ms"
        )
        print(
            f"  the explorer's graph (two hops up and down): p50 {pct(m['results']['explorer'], 0.5):.1f} ms, "
            f"p99 {pct(m['results']['explorer'], 0.99):.1f} ms (median graph {statistics.median(m['explorer_sizes']):.0f} nodes)"
        )
        print(
            f"  impact of the hub ({m['hub_count']:,} downstream datasets, with paths, owners and each job's newest run): "
            f"median {statistics.median(m['hub_ms']):.0f} ms; names and paths only: {statistics.median(m['bare_ms']):.0f} ms"
        )
        print(
            f"  search: p50 {pct(m['results']['search'], 0.5):.1f} ms, p99 {pct(m['results']['search'], 0.99):.1f} ms"
        )
    finally:
        dispose_engines()
        if postgres:
            postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.samples)


if __name__ == "__main__":
    main()
