"""What a dataset's `quality` costs a list: one page of 100 datasets, with and without it.

    .venv/bin/python bench/quality.py [--backend sqlite|postgresql|both] [--samples 100]

The catalog: 100 tables in one namespace, each written by a job (a schema of 20 columns), read by
10 test runs over 10 days (dbt-ol's shape: 20 assertions, one failing, among the input's
facets and inputFacets; a dataQualityMetrics input facet), so 2,200 events in the log. The
page is read in-process through `list_datasets`, as the API calls it, then made into the answer
by the route's response model; "without" replaces the
quality look-up by one that finds nothing (the list as it was before datasets had a quality).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from airflow_ol_catalog.api.datamodels.marquez import DatasetList  # noqa: E402
from airflow_ol_catalog.events import validate_event  # noqa: E402
from airflow_ol_catalog.ingest.event_log import Submission, store_events  # noqa: E402
from airflow_ol_catalog.lineage import catalog  # noqa: E402
from airflow_ol_catalog.store.engine import get_engine, read_connection, write_transaction  # noqa: E402
from airflow_ol_catalog.store.migrate import upgrade  # noqa: E402

NS = "postgres://warehouse:5432"
TABLES, COLUMNS, TEST_RUNS = 100, 20, 10
PRODUCER = "https://example.com/bench"


def events_of(table: int) -> list[dict]:
    name = f"analytics.public.table_{table:03d}"
    fields = [{"name": f"col_{c:02d}", "type": "integer"} for c in range(COLUMNS)]
    write = {
        "eventType": "COMPLETE",
        "eventTime": "2025-01-01T00:00:00Z",
        "producer": PRODUCER,
        "run": {"runId": f"write-{table}"},
        "job": {"namespace": "dbt", "name": f"{name}.build"},
        "inputs": [],
        "outputs": [{"namespace": NS, "name": name, "facets": {"schema": {"fields": fields}}}],
    }
    found = [write]
    for day in range(TEST_RUNS):
        assertions = [{"assertion": "not_null", "column": f"col_{c:02d}", "success": c != day} for c in range(COLUMNS)]
        facet = {"assertions": assertions}
        metrics = {"rowCount": 1000 + day, "columnMetrics": {f"col_{c:02d}": {"nullCount": c} for c in range(COLUMNS)}}
        table_ref = {
            "namespace": NS,
            "name": name,
            "facets": {"dataQualityAssertions": facet},
            "inputFacets": {"dataQualityAssertions": facet, "dataQualityMetrics": metrics},
        }
        for minute, kind in ((0, "START"), (1, "COMPLETE")):
            found.append(
                {
                    "eventType": kind,
                    "eventTime": f"2025-01-{day + 2:02d}T10:0{minute}:00Z",
                    "producer": PRODUCER,
                    "run": {"runId": f"test-{table}-{day}"},
                    "job": {"namespace": "dbt", "name": f"{name}.test"},
                    "inputs": [table_ref],
                    "outputs": [],
                }
            )
    return found


def build(url: str) -> int:
    upgrade(url)
    engine = get_engine(url)
    count = 0
    for table in range(TABLES):
        subs = [Submission.of(validate_event(e), None, 500) for e in events_of(table)]
        with write_transaction(engine) as conn:
            store_events(conn, subs, "register")
        count += len(subs)
    return count


def _page(engine) -> tuple[float, float]:
    """Time of the page's views, and of the views with the answer the route makes of them (its
    response model validates them and dumps JSON)."""
    with read_connection(engine) as conn:
        started = time.perf_counter()
        views, total = catalog.list_datasets(conn, NS, 100, 0)
        viewed = time.perf_counter()
        DatasetList.model_validate({"datasets": views, "totalCount": total}).model_dump_json()
        done = time.perf_counter()
    assert total == TABLES and len(views) == TABLES
    return (viewed - started) * 1000, (done - started) * 1000


def measure(url: str, samples: int) -> dict[bool, list[tuple[float, float]]]:
    """Pages with and without quality, alternately, so a busy machine slows both alike."""
    engine = get_engine(url)
    real = catalog.quality_of
    found: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    try:
        for _ in range(samples):
            for with_quality in (True, False):
                catalog.quality_of = real if with_quality else lambda conn, facets: dict.fromkeys(facets)  # type: ignore[assignment]
                found[with_quality].append(_page(engine))
    finally:
        catalog.quality_of = real
    return found


def run(backend: str, samples: int) -> None:
    from servers import catalog_database

    with catalog_database(backend, "quality_bench") as url:
        events = build(url)
        with read_connection(get_engine(url)) as conn:
            assert catalog.list_datasets(conn, NS, 1, 0)[0][0]["quality"]["summary"]["failed"] == 1
        times = measure(url, samples)
        print(f"{backend}: {events:,} events; a page of 100 datasets, medians:")
        for i, what in enumerate(("views", "views and answer")):
            a, b = (statistics.median(t[i] for t in times[q]) for q in (False, True))
            print(f"  {what}: {a:.1f} ms without quality, {b:.1f} ms with it ({b / a:.2f}x, +{b - a:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.samples)


if __name__ == "__main__":
    main()
