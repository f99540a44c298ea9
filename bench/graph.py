"""Graph benchmark: a synthetic catalog built through the real projection, then lineage, impact, search.

    .venv/bin/python bench/graph.py [--backend sqlite|postgresql|both] [--samples 200]
    .venv/bin/python bench/graph.py --scale [--raw-events 10000000] [--samples 100]
    .venv/bin/python bench/graph.py --columns 1200 [--width 1000] [--backend ...] [--samples 20]

The catalog: about 50,000 datasets in 100 domains of 530 tables; 10,000 jobs (100 per domain),
each run once (START then COMPLETE) reading 16 tables of its domain and writing 5 later ones, so
about 200,000 edges. One hub dataset is read by 1,000 jobs spread over every domain, which puts
over 10,000 datasets downstream of it. The queries run in-process through the same functions the API calls (no HTTP).
Last, every view is built ahead into the database, in the batches the API server builds them
between bursts of writes: views per second.

`--scale` (PostgreSQL) builds 1,000,000 datasets in 2,000 domains of 500 tables, 200,000 jobs
each reading 20 tables and writing 5 (5,000,000 edges), through the projection in batches, then
puts 10,000,000 raw events straight into the log (two years of them, as `bench/retention.py`
does), and builds the last 2 % of domains after that: their ingest rate against the first 2 %'s,
on an empty catalog, says what size costs the write path. Then it times the queries above and the
events of one run, the overview's counts, Marquez's dashboard counts, and states the disk used
per raw event and per edge.

`--columns N` builds N tables of `--width` columns each (a schema facet a table, through the
projection) and times column search, the first page and its total, for a column of one table, one
every table has, a part of nearly every column, and nothing; against a dataset search matching
every table on the same catalog.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ingest import verdict  # noqa: E402
from retention import make_months  # noqa: E402
from servers import PostgresServer, catalog_database  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from airflow_ol_catalog.api.events import _page  # noqa: E402
from airflow_ol_catalog.events import validate_event  # noqa: E402
from airflow_ol_catalog.events.canonical import canonical_json  # noqa: E402
from airflow_ol_catalog.ingest.event_log import Submission, store_events  # noqa: E402
from airflow_ol_catalog.lineage import impact as impact_module  # noqa: E402
from airflow_ol_catalog.lineage import stats as marquez_stats  # noqa: E402
from airflow_ol_catalog.lineage.catalog import search, stats  # noqa: E402
from airflow_ol_catalog.lineage.graph import _Walk, lineage, prebuild_views  # noqa: E402
from airflow_ol_catalog.lineage.impact import impact  # noqa: E402
from airflow_ol_catalog.lineage.view_cache import node_views  # noqa: E402
from airflow_ol_catalog.lineage.view_refresh import PREBUILD_BATCH  # noqa: E402
from airflow_ol_catalog.store import event_tally  # noqa: E402
from airflow_ol_catalog.store.engine import dispose_engines, get_engine, read_connection, write_transaction  # noqa: E402
from airflow_ol_catalog.store.migrate import upgrade  # noqa: E402
from airflow_ol_catalog.store.node_views import forget_views  # noqa: E402
from airflow_ol_catalog.store.tables import dataset, edge, job  # noqa: E402
from airflow_ol_catalog.store.tables import run as run_table  # noqa: E402

NS = "postgres://warehouse.internal:5432"
BATCH = 500


@dataclass(frozen=True)
class Shape:
    domains: int
    datasets_per_domain: int
    jobs_per_domain: int
    reads: int
    writes: int
    hub_readers: int = 1000


SMALL = Shape(domains=100, datasets_per_domain=530, jobs_per_domain=100, reads=16, writes=5)
SCALE = Shape(domains=2000, datasets_per_domain=500, jobs_per_domain=100, reads=20, writes=5)


def dataset_name(domain: int, index: int) -> str:
    return f"domain_{domain:04d}.table_{index:04d}"


def events(shape: Shape, domains: range) -> Iterator[dict]:
    """Each domain's jobs, each run once: a START and a COMPLETE naming the same inputs and outputs."""
    jobs = shape.domains * shape.jobs_per_domain
    hub_readers = set(range(0, jobs, jobs // shape.hub_readers))
    for domain in domains:
        rng = random.Random(domain)
        for j in range(shape.jobs_per_domain):
            number = domain * shape.jobs_per_domain + j
            # Writes go to later tables than reads, so each domain flows one way (a DAG).
            cut = rng.randint(shape.writes, shape.datasets_per_domain - shape.writes)
            reads = rng.sample(range(cut), min(shape.reads, cut))
            writes = rng.sample(range(cut, shape.datasets_per_domain), shape.writes)
            inputs = [{"namespace": NS, "name": dataset_name(domain, i)} for i in reads]
            if number in hub_readers:
                inputs[0] = {"namespace": NS, "name": "hub.public.events"}
            outputs = [{"namespace": NS, "name": dataset_name(domain, i)} for i in writes]
            for event_type, minute in (("START", 0), ("COMPLETE", 5)):
                yield {
                    "eventTime": f"2025-02-01T10:{minute:02d}:00Z",
                    "eventType": event_type,
                    "producer": "https://example.com/bench",
                    "run": {"runId": f"run-{number}"},
                    "job": {
                        "namespace": "bench",
                        "name": f"domain_{domain:04d}.job_{j:03d}",
                        "facets": {"jobType": {"integration": "AIRFLOW", "jobType": "TASK", "processingType": "BATCH"}},
                    },
                    "inputs": inputs,
                    "outputs": outputs,
                }


def ingest(engine, payloads: Iterable[dict]) -> float:
    """Stores the events through the projection in batches; returns the rate, events/s."""
    count, started, pending = 0, time.perf_counter(), iter(payloads)
    while batch := list(itertools.islice(pending, BATCH)):
        subs = [Submission.of(validate_event(p), None, 500) for p in batch]
        with write_transaction(engine) as conn:
            store_events(conn, subs, "register")
        count += len(subs)
    return count / (time.perf_counter() - started)


def analyze(engine, vacuum: bool = False) -> None:
    """Planner statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep them in
    service; with `vacuum`, PostgreSQL's visibility maps too, as autovacuum keeps them for rows
    that came over months rather than minutes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)" if vacuum else "ANALYZE")


def build(url: str) -> float:
    upgrade(url)
    engine = get_engine(url)
    rate = ingest(engine, events(SMALL, range(SMALL.domains)))
    analyze(engine)
    return rate


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def measure(url: str, samples: int, impact_runs: int = 5) -> dict:
    engine = get_engine(url)
    rng = random.Random(11)
    with read_connection(engine) as conn:
        names = sorted(conn.execute(select(dataset.c.name)).scalars())
    results: dict[str, list[float]] = {
        "lineage": [],
        "lineage_stored": [],
        "lineage_kept": [],
        "names_only": [],
        "answer": [],
        "explorer": [],
        "search": [],
    }
    sizes, explorer_sizes, answer_bytes = [], [], []

    def forget_every_view() -> None:
        node_views.flush()
        node_views.clear()
        with write_transaction(engine) as conn:
            forget_views(conn)

    for _ in range(samples):
        node = f"dataset:{NS}:{rng.choice(names)}"
        # First the walk alone (nodes naming only the job or dataset: what a graph cost before nodes
        # carried their data), before anything else read this graph's rows; then every node's view
        # built (none kept anywhere), then the same graph as another process finds it (the views
        # the first request stored in the database, none in the process), then again with the views
        # kept in the process. Each in its own transaction, as requests are.
        with read_connection(engine) as conn, mock.patch.object(_Walk, "describe", return_value=None):
            results["names_only"].append(timed(lineage, conn, node, 5)[0])
        forget_every_view()
        with read_connection(engine) as conn:
            ms, graph = timed(lineage, conn, node, 5)
        results["lineage"].append(ms)
        sizes.append(len(graph.nodes))
        node_views.flush()
        node_views.clear()
        with read_connection(engine) as conn:
            results["lineage_stored"].append(timed(lineage, conn, node, 5)[0])
        with read_connection(engine) as conn:
            ms, graph = timed(lineage, conn, node, 5)
        results["lineage_kept"].append(ms)
        ms, answer = timed(graph.as_json)  # the route's JSON, written from the kept views
        results["answer"].append(ms)
        answer_bytes.append(len(answer))
        # what the UI's explorer asks for: two hops each way
        forget_every_view()
        with read_connection(engine) as conn:
            ms, graph = timed(lineage, conn, node, 2, up_depth=2, down_depth=2)
        results["explorer"].append(ms)
        explorer_sizes.append(len(graph.nodes))
    node_views.flush()
    with read_connection(engine) as conn:
        for word in ("table_0042", "domain_0077", "job_013", "hub", "nothing_like_this"):
            for _ in range(max(1, samples // 20)):
                results["search"].append(timed(search, conn, word, None, 10)[0])
        hub_ms, bare_ms = [], []
        for _ in range(impact_runs):
            ms, report = timed(impact, conn, f"dataset:{NS}:hub.public.events", False, 50_000)
            hub_ms.append(ms)
            # the same walk without the owners of what it reaches and the newest run of each job
            with mock.patch.object(impact_module, "_described", lambda conn, report, nodes, jobs: report):
                bare_ms.append(timed(impact, conn, f"dataset:{NS}:hub.public.events", False, 50_000)[0])
    return {
        "results": results,
        "sizes": sizes,
        "explorer_sizes": explorer_sizes,
        "answer_bytes": answer_bytes,
        "hub_ms": hub_ms,
        "bare_ms": bare_ms,
        "hub_count": report["totalCount"],
    }


def build_every_view_ahead(url: str) -> tuple[int, float]:
    """Every job's and dataset's view built and stored, none kept before, in the batches the API
    server's refresher builds ahead of graphs (lineage/view_refresh.py)."""
    engine = get_engine(url)
    node_views.flush()
    node_views.clear()
    with write_transaction(engine) as conn:
        forget_views(conn)
    with read_connection(engine) as conn:
        ids = {
            kind: sorted(conn.execute(select(table.c.id)).scalars())
            for kind, table in (("JOB", job), ("DATASET", dataset))
        }
    started = time.perf_counter()
    built = 0
    for kind, every in ids.items():
        for start in range(0, len(every), PREBUILD_BATCH):
            built += prebuild_views(engine, kind, every[start : start + PREBUILD_BATCH])
    return built, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# The goals at scale (issue: the 1,000,000-dataset catalog), p50 and p99 in ms.
DEPTH5_GOAL = (50.0, 250.0)
SEARCH_GOAL = (50.0, None)


def against(values: list[float], goal: tuple[float, float | None] | None) -> str:
    """p50 and p99, and with a goal (p50 at most, and p99 at most unless None) whether they meet it."""
    p50, p99 = pct(values, 0.5), pct(values, 0.99)
    text = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    if goal is None:
        return text
    most_p50, most_p99 = goal
    bound = f"p50 <= {most_p50:.0f}" + ("" if most_p99 is None else f", p99 <= {most_p99:.0f}")
    return f"{text} (goal {bound}: {verdict(p50 <= most_p50 and (most_p99 is None or p99 <= most_p99))})"


def report(url: str, m: dict, goals: bool = False) -> None:
    """What `measure` found; with `goals` (at scale), each figure the goals bound against its goal."""
    depth5 = DEPTH5_GOAL if goals else None
    with read_connection(get_engine(url)) as conn:
        counts = [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (dataset, job, edge)]
    print(f"  {counts[0]:,} datasets, {counts[1]:,} jobs, {counts[2]:,} edges")
    print(
        f"  depth-5 lineage around a random dataset, every node's view built (none kept anywhere): "
        f"{against(m['results']['lineage'], None)} (median graph {statistics.median(m['sizes']):.0f} nodes)"
    )
    walk = pct(m["results"]["names_only"], 0.5)
    for key, label in (
        ("lineage_stored", "the same graph in another process (its views stored in the database)"),
        ("lineage_kept", "the same graph again (its views kept in the process)"),
        ("names_only", "the walk alone (nodes naming only the job or dataset)"),
    ):
        values = m["results"][key]
        print(f"  {label}: {against(values, depth5)}, {pct(values, 0.5) / walk:.2f}x the walk's p50")
    print(
        f"  the answer's JSON, written from the views: p50 {pct(m['results']['answer'], 0.5):.1f} ms, "
        f"median {statistics.median(m['answer_bytes']) / 1e6:.2f} MB"
    )
    print(
        f"  the explorer's graph (two hops up and down): {against(m['results']['explorer'], None)} "
        f"(median graph {statistics.median(m['explorer_sizes']):.0f} nodes)"
    )
    print(
        f"  impact of the hub ({m['hub_count']:,} downstream datasets, with paths, owners and each job's newest run): "
        f"median {statistics.median(m['hub_ms']):.0f} ms; names and paths only: {statistics.median(m['bare_ms']):.0f} ms"
    )
    print(f"  search: {against(m['results']['search'], SEARCH_GOAL if goals else None)}")


def run(backend: str, samples: int) -> None:
    with catalog_database(backend, "graph_bench") as url:
        rate = build(url)
        print(f"\n{backend}: built at {rate:,.0f} events/s")
        report(url, measure(url, samples))
        built, seconds = build_every_view_ahead(url)
        print(
            f"  every view built ahead, as the API server does between bursts of writes: {built:,} views in "
            f"{seconds:.1f} s, {built / seconds:,.0f} views/s ({seconds / built * 1000:.2f} ms a view)"
        )


# --- column search ---------------------------------------------------------------------------------

SCHEMA_URL = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"


def column_queries(tables: int) -> tuple[tuple[str, str], ...]:
    """(what it finds, the part searched for) in a catalog of wide tables (`wide_events`)."""
    return (
        ("a column of one table", f"only_in_{tables // 2:05d}"),
        ("a column every table has", "created_at"),
        ("a part of nearly every column", "metric_"),
        ("nothing", "nothing_here"),
    )


def wide_events(tables: int, columns: int) -> Iterator[dict]:
    """One run a table, writing it with a schema of `columns` fields: `id`, `created_at`, metrics,
    and one field no other table has."""
    for number in range(tables):
        fields = [{"name": "id", "type": "bigint"}, {"name": "created_at", "type": "timestamp"}]
        fields += [{"name": f"metric_{i:04d}", "type": "double"} for i in range(columns - 3)]
        fields.append({"name": f"only_in_{number:05d}", "type": "text"})
        yield {
            "eventTime": "2025-02-01T10:00:00Z",
            "eventType": "COMPLETE",
            "producer": "https://example.com/bench",
            "run": {"runId": f"wide-{number}"},
            "job": {"namespace": "bench", "name": f"load_wide_{number:05d}"},
            "outputs": [
                {
                    "namespace": NS,
                    "name": f"wide.table_{number:05d}",
                    "facets": {
                        "schema": {"_producer": "https://example.com/bench", "_schemaURL": SCHEMA_URL, "fields": fields}
                    },
                }
            ],
        }


def run_columns(backend: str, tables: int, columns: int, samples: int) -> None:
    """Column search among `tables` x `columns` columns: the first page (20, as the UI asks) and the
    total, against a search for datasets on the same catalog (every table matches) as the baseline."""
    with catalog_database(backend, "columns_bench") as url:
        upgrade(url)
        engine = get_engine(url)
        rate = ingest(engine, wide_events(tables, columns))
        analyze(engine)
        print(f"\n{backend}: {tables:,} tables of {columns:,} columns built at {rate:,.0f} events/s")
        with read_connection(engine) as conn:
            baseline = [timed(search, conn, "table_", "dataset", 20)[0] for _ in range(samples)]
            print(f"  datasets named table_ (the baseline, {tables:,} matches): {against(baseline, None)}")
            for label, q in column_queries(tables):
                times = []
                for _ in range(samples):
                    ms, (_, total) = timed(search, conn, q, "field", 20)
                    times.append(ms)
                ratio = pct(times, 0.5) / pct(baseline, 0.5)
                print(f"  columns: {label} ({total:,}): {against(times, None)}, {ratio:.2f}x the baseline's p50")


# --- at scale -------------------------------------------------------------------------------------

RAW_CHUNK = 500_000
RAW_SPAN_DAYS = 730
# One run's events, as Airflow's provider sends them; each raw event is a copy with its own run id.
RAW_PAYLOAD = canonical_json(
    json.loads((ROOT / "examples" / "02_table_lineage" / "02_build_invoices_complete.json").read_text()), 100
)


def raw_events(engine, count: int) -> float:
    """`count` raw events straight into the log, two per run (START, COMPLETE), over two years up to
    now, in chunks of one statement each; returns the rate, events/s."""
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        make_months(conn, now - timedelta(days=RAW_SPAN_DAYS), now)
    template = RAW_PAYLOAD.replace('"runId":"019a0000-0000-7000-8000-000000000011"', '"runId":"@RUN@"', 1)
    assert "@RUN@" in template
    fill = text(
        """
        INSERT INTO ol_catalog_event (digest, received_at, event_time, kind, event_type, producer, namespace,
                                      run_id, job_name, quarantined, payload)
        SELECT md5(g::text) || md5((-g)::text), t, t, 'run', CASE WHEN g % 2 = 0 THEN 'START' ELSE 'COMPLETE' END,
               'bench', 'raw', r, 'raw.job_' || (g / 2 % 5000), false, replace(:template, '@RUN@', r)
        FROM generate_series(:first, :last) AS g,
             LATERAL (SELECT CAST(:now AS timestamptz) - make_interval(secs => (:total - g) * :step) AS t,
                             'raw-' || (g / 2) AS r) AS each
        """
    )
    step = RAW_SPAN_DAYS * 86400 / count
    started = time.perf_counter()
    for first in range(0, count, RAW_CHUNK):
        last = min(count, first + RAW_CHUNK) - 1
        with write_transaction(engine) as conn:
            conn.execute(
                fill, {"template": template, "first": first, "last": last, "now": now, "total": count, "step": step}
            )
        print(f"    {last + 1:,} raw events", flush=True)
    rate = count / (time.perf_counter() - started)
    with write_transaction(engine) as conn:
        event_tally.recount(conn)  # as ingest would have kept it
    return rate


def size_of(conn, table: str) -> int:
    """Bytes on disk of a table with its indexes and TOAST, partitions included."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(relid)), pg_total_relation_size(CAST(:t AS regclass))) "
                "FROM pg_partition_tree(CAST(:t AS regclass))"
            ),
            {"t": table},
        ).scalar_one()
    )


def measure_reads(url: str, samples: int) -> dict[str, list[float]]:
    """The events of one run, the event list's first page, the overview's counts, Marquez's dashboard."""
    os.environ["AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN"] = url  # the route's own query reads the configured catalog
    engine = get_engine(url)
    rng = random.Random(5)
    with read_connection(engine) as conn:
        runs = conn.execute(select(run_table.c.run_id).limit(1000)).scalars().all()
    spans = {
        period: marquez_stats.intervals(period, ZoneInfo("UTC"), datetime.now(timezone.utc))
        for period in ("DAY", "WEEK")
    }
    _page(None, None, {"run_id": runs[0]}, False, 100, 0)  # the route's engine made once, as in service
    times: dict[str, list[float]] = {
        k: [] for k in ("run_events", "raw_run_events", "first_page", "overview", "marquez")
    }
    for _ in range(samples):
        filters = {"namespace": None, "job_name": None, "event_type": None, "producer": None}
        times["run_events"].append(timed(_page, None, None, {**filters, "run_id": rng.choice(runs)}, False, 100, 0)[0])
        raw = f"raw-{rng.randrange(1_000_000)}"
        times["raw_run_events"].append(timed(_page, None, None, {**filters, "run_id": raw}, False, 100, 0)[0])
    for _ in range(max(5, samples // 5)):
        filters = {"namespace": None, "job_name": None, "event_type": None, "producer": None, "run_id": None}
        times["first_page"].append(timed(_page, None, None, filters, True, 100, 0)[0])
        with read_connection(engine) as conn:
            times["overview"].append(timed(stats, conn, 7)[0])
            started = time.perf_counter()
            for intervals in spans.values():
                marquez_stats.lineage_events(conn, intervals)
                marquez_stats.jobs(conn, intervals)
                marquez_stats.datasets(conn, intervals)
                marquez_stats.sources(conn, intervals)
            times["marquez"].append((time.perf_counter() - started) * 1000 / len(spans))
    return times


def build_scale(url: str, raw: int) -> None:
    upgrade(url)
    engine = get_engine(url)
    edge_domains = SCALE.domains // 50  # 2 %: the first ones on an empty catalog, the last ones at full size
    started = time.perf_counter()
    first_rate = ingest(engine, events(SCALE, range(edge_domains)))
    print(f"first {edge_domains} domains: {first_rate:,.0f} events/s", flush=True)
    middle = range(edge_domains, SCALE.domains - edge_domains)
    for chunk in (middle[i : i + 100] for i in range(0, len(middle), 100)):
        rate = ingest(engine, events(SCALE, chunk))
        print(f"    domains to {chunk[-1] + 1:,}: {rate:,.0f} events/s", flush=True)
    raw_rate = raw_events(engine, raw)
    analyze(engine, vacuum=True)
    last_rate = ingest(engine, events(SCALE, range(SCALE.domains - edge_domains, SCALE.domains)))
    analyze(engine, vacuum=True)
    print(f"\npostgresql at scale: built in {time.perf_counter() - started:,.0f} s")
    print(f"  raw events into the log: {raw_rate:,.0f} events/s")
    print(
        f"  ingest through the projection, batches of {BATCH}: first {edge_domains} domains (empty catalog) "
        f"{first_rate:,.0f} events/s, last {edge_domains} (full size) {last_rate:,.0f} events/s: "
        f"{last_rate / first_rate:.2f} of the empty catalog's (goal >= 0.8: {verdict(last_rate / first_rate >= 0.8)})"
    )


def run_scale(samples: int, raw: int, keep: Path | None) -> None:
    """Builds the catalog at scale and measures it; with `keep`, the cluster stays in that folder
    (stopped), and a later run with the same folder measures it again without building."""
    marker = keep / "built" if keep is not None else None  # holds the raw events the build put in the log
    built = marker is not None and marker.exists()
    if marker is not None and built and int(marker.read_text() or 0) != raw:
        sys.exit(f"the catalog kept there was built with {marker.read_text()} raw events: pass that, or another folder")
    postgres = PostgresServer(keep)
    if built:
        postgres.resume()
        url = postgres.url("graph_scale")
    else:
        if keep is not None:
            shutil.rmtree(keep / "data", ignore_errors=True)  # a build that stopped half-way
        postgres.start()
        url = postgres.create_database("graph_scale")
    try:
        if built:
            upgrade(url)  # a build of an earlier version gains this one's migrations
            analyze(get_engine(url))  # and the planner statistics of what they changed
            print("\npostgresql at scale: the catalog built earlier (its ingest rates were printed then)")
        else:
            build_scale(url, raw)
            if marker is not None:
                marker.write_text(str(raw))
        with read_connection(get_engine(url)) as conn:
            events_count = event_tally.totals(conn)[0]
            edges = conn.execute(select(func.count()).select_from(edge)).scalar_one()
            log_bytes, edge_bytes = size_of(conn, "ol_catalog_event"), size_of(conn, "ol_catalog_edge")
            database = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        print(f"  {events_count:,} events in the log")
        print(
            f"  disk: {log_bytes / events_count:,.0f} bytes per raw event (the log with its indexes), "
            f"{edge_bytes / edges:,.0f} bytes per edge; database {database / 2**30:.1f} GiB"
        )
        report(url, measure(url, samples, impact_runs=3), goals=True)
        reads = measure_reads(url, samples)
        for key, label, goal in (
            ("run_events", "the events of one run (projected)", (20.0, None)),
            ("raw_run_events", "the events of one run (raw)", (20.0, None)),
            ("first_page", "the event list's first page with its total", None),
            ("overview", "the overview's counts (GET /stats)", (200.0, None)),
            ("marquez", "Marquez's dashboard counts (four /stats routes)", None),
        ):
            print(f"  {label}: {against(reads[key], goal)}")
    finally:
        dispose_engines()
        if keep is not None:
            postgres.pause()
        else:
            postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--scale", action="store_true", help="the 1,000,000-dataset catalog, on PostgreSQL")
    parser.add_argument(
        "--columns", type=int, metavar="N", help="column search among N wide tables of --width columns instead"
    )
    parser.add_argument("--width", type=int, default=1000, help="with --columns: columns a table")
    parser.add_argument("--raw-events", type=int, default=10_000_000, help="with --scale: raw events in the log")
    parser.add_argument(
        "--keep", type=Path, help="with --scale: keep the cluster in this folder; if one is there, measure it again"
    )
    args = parser.parse_args()
    if args.scale:
        run_scale(args.samples, args.raw_events, args.keep)
        return
    if args.columns:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            run_columns(backend, args.columns, args.width, args.samples)
        return
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.samples)


if __name__ == "__main__":
    main()
