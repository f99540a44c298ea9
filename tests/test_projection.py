"""Projection of events into the catalog: the corpus's expected catalog, and order independence."""

from __future__ import annotations

import itertools
import json
import random
from contextlib import suppress
from pathlib import Path

import pytest
from catalog_snapshot import snapshot
from conftest import CORPUS, EXAMPLES, through_driver_cursors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool
from test_events import run_event

from airflow_ol_catalog.cli_commands import replace_namespace
from airflow_ol_catalog.events import validate_event
from airflow_ol_catalog.ingest.event_log import Submission, store_events
from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.tables import metadata

NS = "corpus"


def load_set(folder: Path, namespace: str = NS) -> list[dict]:
    events = []
    for path in sorted(folder.rglob("*.json")):
        payload = json.loads(path.read_text())
        replace_namespace(payload, namespace)
        events.append(payload)
    return events


def send(engine, payloads: list[dict], one_by_one: bool = True) -> None:
    subs = [Submission.of(validate_event(p), None, 500) for p in payloads]
    batches = [[s] for s in subs] if one_by_one else [subs]
    for batch in batches:
        with write_transaction(engine) as conn:
            store_events(conn, batch, "register")


def catalog(engine) -> dict:
    with read_connection(engine) as conn:
        return snapshot(conn)


@pytest.fixture
def corpus_set(corpus):
    return lambda name: load_set(corpus / name / "events")


def runs_of(cat: dict) -> dict:
    return {(job[1], run_id): state for (job, run_id), state in cat["runs"].items()}


def edges_of(cat: dict) -> set:
    return {(job[1], ds[1], direction) for (job, ds, direction), values in cat["edges"].items()}


# --- what the corpus must produce (EXPECTED.md) -------------------------------------------------


def test_simple_dag_links_task_run_to_dag_run(catalog_engine, corpus_set):
    send(catalog_engine, corpus_set("01_simple_dag"))
    cat = catalog(catalog_engine)
    assert cat["jobs"][(NS, "daily_etl_pipeline.validate_data")][1] == (NS, "daily_etl_pipeline")
    assert cat["jobs"][(NS, "daily_etl_pipeline")][0] is False  # seen for real, not only as a parent
    states = {key[0][1]: values[0] for key, values in cat["runs"].items()}
    assert states == {"daily_etl_pipeline": "COMPLETE", "daily_etl_pipeline.validate_data": "COMPLETE"}
    child = next(v for k, v in cat["runs"].items() if k[0][1].endswith("validate_data"))
    assert child[4][0] == (NS, "daily_etl_pipeline")
    assert cat["datasets"] == {} and cat["edges"] == {}


def test_dag_with_lineage_has_one_dataset_job_dataset_path(catalog_engine, corpus_set):
    send(catalog_engine, corpus_set("02_dag_with_lineage"))
    cat = catalog(catalog_engine)
    job = "orders_sync_pipeline.sync_orders"
    assert edges_of(cat) == {(job, "sales.public.orders", "in"), (job, "analytics.reporting.daily_orders", "out")}
    assert all(values[4] for values in cat["edges"].values())  # confirmed by the COMPLETE run
    assert ("postgres://db.internal", "sales.public.orders") in cat["datasets"]
    assert cat["datasets"][("postgres://db.internal", "sales.public.orders")][0] == "postgresql://db.internal:5432"
    (version,) = [v for (ds, _), v in cat["versions"].items() if ds[1] == "analytics.reporting.daily_orders"]
    assert [f["name"] for f in json.loads(version[0])] == ["order_id", "customer_id", "amount", "order_date"]


def test_multi_task_dag_merges_inputs_and_outputs_across_events(catalog_engine, corpus_set):
    send(catalog_engine, corpus_set("03_multi_task_dag"))
    cat = catalog(catalog_engine)
    children = {k[1] for k, v in cat["jobs"].items() if v[1] == (NS, "orders_pipeline")}
    assert children == {
        "orders_pipeline.extract_from_source",
        "orders_pipeline.transform_orders",
        "orders_pipeline.load_to_warehouse",
    }
    load_io = {
        (ds[1], d) for (run_key, ds, d, _) in cat["run_io"] if run_key[0][1] == "orders_pipeline.load_to_warehouse"
    }
    assert len(load_io) == 4 and {d for _, d in load_io} == {"in", "out"}
    airflow_facets = {
        k[1][0][1]: json.loads(v[0]) for k, v in cat["facets"].items() if k[0] == "run" and k[2] == "airflow"
    }
    assert airflow_facets["orders_pipeline.transform_orders"]["task"]["upstream_task_ids"] == "['extract_from_source']"


def test_column_lineage_is_direct_with_identity_and_aggregate(catalog_engine, corpus_set):
    send(catalog_engine, corpus_set("04_column_lineage"))
    cat = catalog(catalog_engine)
    rows = cat["column_lineage"]
    assert {key[1] for key in rows} == {"customer_id", "total_orders", "lifetime_value", "last_order_date"}
    assert {key[4] for key in rows} == {"DIRECT"}
    assert {key[5] for key in rows} <= {"IDENTITY", "AGGREGATE", "AGGREGATION"} and len({key[1] for key in rows}) == 4
    assert all(len([k for k in rows if k[1] == field]) == 1 for field in {key[1] for key in rows})


def test_spark_application_has_three_child_jobs_and_one_with_lineage(catalog_engine, corpus_set):
    send(catalog_engine, corpus_set("05_spark_multi_job"))
    cat = catalog(catalog_engine)
    children = {k[1] for k, v in cat["jobs"].items() if v[1] == (NS, "ecommerce_pipeline")}
    assert len(children) == 3
    with_edges = {job for job, _, _ in edges_of(cat)}
    assert with_edges == {"ecommerce_pipeline.transform_sales_data"}
    directions = sorted(d for _, _, d in edges_of(cat))
    assert directions == ["in", "in", "out"]
    assert len([k for k in cat["runs"] if k[0][1] in children]) == 3
    (version,) = [v for (ds, _), v in cat["versions"].items()]
    assert len(json.loads(version[0])) == 5
    assert any(k[0] == "dataset" and k[2] == "outputStatistics" for k in cat["facets"])


def test_spark_column_lineage_derives_customer_name_from_two_columns(catalog_engine, corpus_set):
    send(catalog_engine, corpus_set("06_spark_cll"))
    cat = catalog(catalog_engine)
    rows = cat["column_lineage"]
    assert len({key[1] for key in rows if key[1]}) == 7
    assert {key[3] for key in rows if key[1] == "customer_name"} == {"first_name", "last_name"}


def test_sending_the_corpus_twice_leaves_the_catalog_unchanged(catalog_engine, corpus):
    events = [e for folder in sorted(corpus.iterdir()) if folder.is_dir() for e in load_set(folder / "events")]
    send(catalog_engine, events)
    first = catalog(catalog_engine)
    send(catalog_engine, events)
    assert catalog(catalog_engine) == first


# --- rules ------------------------------------------------------------------------------------------


def event(event_type: str, time: str, run_id: str = "r1", **changes) -> dict:
    payload = run_event(eventType=event_type, eventTime=time, **changes)
    payload["run"]["runId"] = run_id
    return payload


def test_start_after_complete_keeps_run_completed(catalog_engine):
    send(catalog_engine, [event("COMPLETE", "2025-01-01T10:05:00Z"), event("START", "2025-01-01T10:00:00Z")])
    (values,) = catalog(catalog_engine)["runs"].values()
    assert values[0] == "COMPLETE"
    assert (values[1].minute, values[2].minute) == (0, 5)  # started at the START, ended at the COMPLETE


def test_other_never_changes_state(catalog_engine):
    send(catalog_engine, [event("START", "2025-01-01T10:00:00Z"), event("OTHER", "2025-01-01T10:09:00Z")])
    (values,) = catalog(catalog_engine)["runs"].values()
    assert values[0] == "START"


def test_fail_then_complete_of_the_same_run_ends_with_the_later_one(catalog_engine):
    send(catalog_engine, [event("COMPLETE", "2025-01-01T10:10:00Z"), event("FAIL", "2025-01-01T10:05:00Z")])
    (values,) = catalog(catalog_engine)["runs"].values()
    assert values[0] == "COMPLETE"


def test_failed_run_leaves_edges_unconfirmed(catalog_engine):
    inputs = [{"namespace": "postgres://db", "name": "a"}]
    send(catalog_engine, [event("START", "2025-01-01T10:00:00Z", inputs=inputs), event("FAIL", "2025-01-01T10:01:00Z")])
    (values,) = catalog(catalog_engine)["edges"].values()
    assert values[4] is False and values[3] == 1


def test_inputs_of_start_are_confirmed_by_a_later_complete(catalog_engine):
    inputs = [{"namespace": "postgres://db", "name": "a"}]
    send(
        catalog_engine,
        [event("START", "2025-01-01T10:00:00Z", inputs=inputs), event("COMPLETE", "2025-01-01T10:01:00Z")],
    )
    (values,) = catalog(catalog_engine)["edges"].values()
    assert values[4] is True


def test_a_complete_naming_other_datasets_confirms_what_the_start_named_too(catalog_engine):
    """The COMPLETE's transaction adds links of its own and reads the links its START made (on
    PostgreSQL in one statement, store/sql.py `insert_and_read`): every edge of the run is confirmed,
    each counted once, and the dataset the START said it writes is bumped as written by the run."""
    from airflow_ol_catalog.store.tables import dataset

    def stamp(name: str) -> int:
        with read_connection(catalog_engine) as conn:
            return conn.execute(select(dataset.c.view_stamp).where(dataset.c.name == name)).scalar_one()

    db = "postgres://db"
    start = event("START", "2025-01-01T10:00:00Z", inputs=[{"namespace": db, "name": "a"}])
    start["outputs"] = [{"namespace": db, "name": "b"}]
    send(catalog_engine, [start])
    before = stamp("b")
    send(catalog_engine, [event("COMPLETE", "2025-01-01T10:01:00Z", inputs=[{"namespace": db, "name": "c"}])])
    edges = catalog(catalog_engine)["edges"]
    assert {key[1][1]: (values[3], values[4]) for key, values in edges.items()} == {
        "a": (1, True),
        "b": (1, True),
        "c": (1, True),
    }
    assert stamp("b") > before


@pytest.mark.parametrize("processing", ["STREAMING", "SERVICE"])
def test_streaming_and_service_jobs_confirm_edges_while_running(catalog_engine, processing):
    payload = event("RUNNING", "2025-01-01T10:00:00Z", outputs=[{"namespace": "kafka://broker", "name": "clicks"}])
    payload["job"]["facets"]["jobType"] = {"processingType": processing, "integration": "FLINK", "jobType": "JOB"}
    send(catalog_engine, [payload])
    (values,) = catalog(catalog_engine)["edges"].values()
    assert values[4] is True


def test_job_event_declares_static_lineage(catalog_engine):
    send(
        catalog_engine,
        [
            {
                "eventTime": "2025-01-01T10:00:00Z",
                "producer": "p",
                "job": {"namespace": "n", "name": "model"},
                "inputs": [{"namespace": "postgres://db", "name": "src"}],
                "outputs": [{"namespace": "postgres://db", "name": "dst"}],
            }
        ],
    )
    cat = catalog(catalog_engine)
    assert {v[5] for v in cat["edges"].values()} == {True} and cat["runs"] == {}


def test_facet_of_the_newest_event_wins_and_deleted_removes_it(catalog_engine):
    def with_doc(time, doc):
        payload = event("RUNNING", time)
        payload["job"]["facets"]["documentation"] = doc
        return payload

    send(
        catalog_engine,
        [
            with_doc("2025-01-01T10:02:00Z", {"description": "new"}),
            with_doc("2025-01-01T10:01:00Z", {"description": "old"}),
        ],
    )
    facets = catalog(catalog_engine)["facets"]
    assert json.loads(facets[("job", ("team-a", "etl.load"), "documentation")][0]) == {"description": "new"}
    send(catalog_engine, [with_doc("2025-01-01T10:03:00Z", {"_deleted": True})])
    assert catalog(catalog_engine)["facets"][("job", ("team-a", "etl.load"), "documentation")][0] is None


def test_run_id_reused_by_two_jobs_makes_two_runs(catalog_engine):
    other = event("START", "2025-01-01T10:00:00Z")
    other["job"]["name"] = "another.job"
    send(catalog_engine, [event("START", "2025-01-01T10:00:00Z"), other])
    assert len(catalog(catalog_engine)["runs"]) == 2


def test_parent_not_seen_yet_is_a_placeholder_that_fills_in(catalog_engine):
    child = event("START", "2025-01-01T10:00:01Z", run_id="child")
    child["run"]["facets"]["parent"] = {"run": {"runId": "dag-run"}, "job": {"namespace": "team-a", "name": "dag"}}
    send(catalog_engine, [child])
    cat = catalog(catalog_engine)
    assert cat["jobs"][("team-a", "dag")][0] is True
    assert cat["runs"][(("team-a", "dag"), "dag-run")][3] is True
    parent = event("START", "2025-01-01T10:00:00Z", run_id="dag-run")
    parent["job"]["name"] = "dag"
    send(catalog_engine, [parent])
    cat = catalog(catalog_engine)
    assert cat["jobs"][("team-a", "dag")][0] is False
    assert (
        cat["runs"][(("team-a", "dag"), "dag-run")][0] == "START"
        and cat["runs"][(("team-a", "dag"), "dag-run")][3] is False
    )


def _run_tree(namespace: str) -> list[dict]:
    """A DAG run, two task runs under it, a Spark application under the first task and a Spark job
    under the application: every run below the DAG run names its parent and the DAG run as root."""

    def node(name: str, run_id: str, kind: str, second: int, parent: tuple[str, str] | None) -> dict:
        payload = event(kind, f"2025-01-01T10:00:{second:02d}Z", run_id=run_id)
        payload["job"] = {"namespace": namespace, "name": name, "facets": {}}
        if parent:
            payload["run"]["facets"]["parent"] = {
                "run": {"runId": parent[1]},
                "job": {"namespace": namespace, "name": parent[0]},
                "root": {"run": {"runId": "dag-run"}, "job": {"namespace": namespace, "name": "dag"}},
            }
        return payload

    tree = [
        ("dag", "dag-run", None),
        ("dag.extract", "task-1", ("dag", "dag-run")),
        ("dag.load", "task-2", ("dag", "dag-run")),
        ("spark_app", "app-1", ("dag.extract", "task-1")),
        ("spark_app.stage", "stage-1", ("spark_app", "app-1")),
    ]
    return [
        node(name, run_id, kind, second + i, parent)
        for i, (name, run_id, parent) in enumerate(tree)
        for kind, second in (("START", 0), ("COMPLETE", 30))
    ]


def test_run_trees_link_parents_and_roots_whatever_the_order_and_batching(catalog_engine):
    """Runs are written with their parent's and root's ids when those are stored already, else
    linked after: every order and grouping of a tree's events links it the same (runs that are
    parents in one batch and children in another included)."""
    import random

    def links(namespace: str) -> dict:
        runs = catalog(catalog_engine)["runs"]
        strip = lambda key: key and (key[0][1], key[1])  # noqa: E731
        return {
            strip(key): (row[0], row[3], strip(row[4]), strip(row[5]))
            for key, row in runs.items()
            if key[0][0] == namespace
        }

    send(catalog_engine, _run_tree("trial-0"))
    expected = links("trial-0")
    assert expected[("spark_app.stage", "stage-1")] == ("COMPLETE", False, ("spark_app", "app-1"), ("dag", "dag-run"))
    assert expected[("dag", "dag-run")] == ("COMPLETE", False, None, None)
    rng = random.Random(7)
    for trial, batch_size in enumerate((10, 3, 2, 4, 10, 1, 5), start=1):
        events = _run_tree(f"trial-{trial}")
        rng.shuffle(events)
        subs = [Submission.of(validate_event(p), None, 500) for p in events]
        for start in range(0, len(subs), batch_size):
            with write_transaction(catalog_engine) as conn:
                store_events(conn, subs[start : start + batch_size], "register")
        assert links(f"trial-{trial}") == expected, (trial, batch_size)


def test_children_of_a_stored_parent_are_written_with_their_links_not_linked_after(catalog_engine, monkeypatch):
    """The tasks of a DAG run name its run as parent and root in every event. Once that run is
    stored, a transaction of its children reads it and writes them with both links at once: no
    update of the run table after them (which rewrote each child with every index of the table)."""
    from airflow_ol_catalog.ingest import projection

    tree = _run_tree("stored-parent")
    send(catalog_engine, tree[:4])  # the DAG run and its first task
    written, write = [], projection.write

    def noting(conn, statement, rows):
        written.append(statement.table.name)
        return write(conn, statement, rows)

    monkeypatch.setattr(projection, "write", noting)
    send(catalog_engine, tree[4:8], one_by_one=False)  # the second task, and a Spark run under the first
    assert "ol_catalog_run" not in written, written
    runs = catalog(catalog_engine)["runs"]
    dag_run, task_1 = (("stored-parent", "dag"), "dag-run"), (("stored-parent", "dag.extract"), "task-1")
    task_2, app = (("stored-parent", "dag.load"), "task-2"), (("stored-parent", "spark_app"), "app-1")
    assert runs[task_2][0] == "COMPLETE" and (runs[task_2][4], runs[task_2][5]) == (dag_run, None), runs[task_2]
    assert runs[app][0] == "COMPLETE" and (runs[app][4], runs[app][5]) == (task_1, dag_run), runs[app]
    assert runs[dag_run][3] is False and runs[task_1][3] is False  # real runs, not placeholders


def _pausing_after_touch(monkeypatch, table: str, writers: int):
    """The last round trip's statements sent one by one, each writer pausing (at most 3 s) after the
    update of the existing rows of `table` until every writer has made its own: the moment two
    writers that lock rows of one table in two passes, in opposite orders, would deadlock."""
    touch = f"INSERT INTO {table} "
    _pausing_after(monkeypatch, writers, lambda text: text.startswith(touch) and "DO UPDATE" in text)


def _pausing_after(monkeypatch, writers: int, pauses_after) -> None:
    """The last round trip's statements sent one by one, each writer pausing (at most 3 s) after the
    first statement `pauses_after` (its text) says, until every writer has sent its own."""
    import threading

    from airflow_ol_catalog.store import sql

    barrier = threading.Barrier(writers, timeout=3)
    paused: set[int] = set()

    def stepwise(cursor, statement, *args):
        if args or not isinstance(statement, bytes) or b";\n" not in statement:
            return cursor.execute(statement, *args)
        for one in statement.split(b";\n"):
            cursor.execute(one)
            if threading.get_ident() not in paused and pauses_after(one.decode()):
                paused.add(threading.get_ident())
                with suppress(threading.BrokenBarrierError):  # the other waits for this one's locks
                    barrier.wait()

    monkeypatch.setattr(sql, "_prepares", lambda *args: False)  # statements as text, readable here
    through_driver_cursors(monkeypatch, stepwise)


def _at_once(catalog_engine, batches: list[list[dict]]) -> dict[int, Exception]:
    import threading

    failed: dict[int, Exception] = {}

    def sending(number: int, batch: list[dict]) -> None:
        try:
            send(catalog_engine, batch, one_by_one=False)
        except Exception as error:  # reported by the test
            failed[number] = error

    threads = [threading.Thread(target=sending, args=(i, batch)) for i, batch in enumerate(batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failed


def _task(job: str, run_id: str, kind: str, time: str, inputs=(), outputs=()) -> dict:
    payload = event(
        kind,
        time,
        run_id=run_id,
        inputs=[{"namespace": "postgres://db", "name": name} for name in inputs],
        outputs=[{"namespace": "postgres://db", "name": name, **facets} for name, facets in outputs],
    )
    payload["job"]["name"] = job
    return payload


def test_writers_updating_a_dataset_and_bumping_another_one_never_deadlock(catalog_engine, monkeypatch):
    """A run that ends changes the datasets it wrote: their view stamps are bumped, those the batch
    does not name in a write of their own after the update of those it names. Two writers each
    naming the dataset the other's finished run wrote took the two in opposite orders, and
    PostgreSQL broke the deadlock. Every dataset a transaction's last writes update is now locked
    first, in id order, by every writer (store/sql.py `lock_first`)."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite")
    send(
        catalog_engine,
        [_task("j1", "r1", "START", "2025-01-01T10:00:00Z", outputs=[("y", {})]),
         _task("j3", "r3", "START", "2025-01-01T10:00:00Z", outputs=[("x", {})])],
    )  # fmt: skip
    _pausing_after_touch(monkeypatch, "ol_catalog_dataset", 2)
    failed = _at_once(
        catalog_engine,
        [
            [_task("j1", "r1", "COMPLETE", "2025-01-01T11:00:00Z"), _task("j2", "r2", "START", "2025-01-01T11:00:00Z", ["x"])],
            [_task("j3", "r3", "COMPLETE", "2025-01-01T11:00:00Z"), _task("j4", "r4", "START", "2025-01-01T11:00:00Z", ["y"])],
        ],
    )  # fmt: skip
    assert not failed, failed
    states = {key: values[0] for key, values in runs_of(catalog(catalog_engine)).items()}
    assert states == {("j1", "r1"): "COMPLETE", ("j2", "r2"): "START", ("j3", "r3"): "COMPLETE", ("j4", "r4"): "START"}


def test_writers_updating_a_job_and_bumping_another_one_never_deadlock(catalog_engine, monkeypatch):
    """A dataset with a new schema version changes how the jobs using it read: their view stamps are
    bumped in a write after the update of the jobs the batch names. Two writers, each naming one job
    and giving a new schema to a dataset the other's job reads, took the two jobs in opposite
    orders. Every job a transaction's last writes update is now locked first, in id order."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite")
    send(
        catalog_engine,
        [_task("j1", "r1", "START", "2025-01-01T10:00:00Z", inputs=["p"]),
         _task("j2", "r2", "START", "2025-01-01T10:00:00Z", inputs=["q"])],
    )  # fmt: skip

    def schema(column: str) -> dict:
        return {"facets": {"schema": {"fields": [{"name": column}]}}}

    _pausing_after_touch(monkeypatch, "ol_catalog_job", 2)
    failed = _at_once(
        catalog_engine,
        [
            [_task("j1", "r1", "COMPLETE", "2025-01-01T11:00:00Z", outputs=[("q", schema("a"))])],
            [_task("j2", "r2", "COMPLETE", "2025-01-01T11:00:00Z", outputs=[("p", schema("b"))])],
        ],
    )
    assert not failed, failed
    cat = catalog(catalog_engine)
    states = {key: values[0] for key, values in runs_of(cat).items()}
    assert len(cat["versions"]) == 2 and states == {("j1", "r1"): "COMPLETE", ("j2", "r2"): "COMPLETE"}


def test_a_writer_locking_its_datasets_first_takes_its_jobs_before_them(catalog_engine, monkeypatch):
    """Writer A ends a run that wrote a dataset A does not name: A bumps it, so A locks its datasets
    first. Writer B gives a new schema to a dataset another job reads: B bumps that job, so B locks
    its jobs first. A also names that job, and B that dataset. A took its datasets first and its
    jobs later (in its writes), B its jobs, then its datasets: each waited for the other's lock, and
    PostgreSQL broke the deadlock. A transaction locking one table first now locks the tables
    before it too, jobs before datasets, as every other does (store/sql.py `deferred_writes`)."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite")
    send(
        catalog_engine,
        [_task("j1", "r1", "START", "2025-01-01T10:00:00Z", outputs=[("x", {})]),
         _task("j2", "r2", "START", "2025-01-01T10:00:00Z", inputs=["p"])],
    )  # fmt: skip
    _pausing_after(monkeypatch, 2, lambda text: text.startswith("SELECT ") and text.endswith("FOR UPDATE"))
    failed = _at_once(
        catalog_engine,
        [
            [_task("j1", "r1", "COMPLETE", "2025-01-01T11:00:00Z"), _task("j2", "r2b", "START", "2025-01-01T11:00:00Z")],
            [_task("j3", "r3", "COMPLETE", "2025-01-01T11:00:00Z", outputs=[("p", {"facets": {"schema": {"fields": [{"name": "a"}]}}}), ("x", {})])],
        ],
    )  # fmt: skip
    assert not failed, failed
    states = {key: values[0] for key, values in runs_of(catalog(catalog_engine)).items()}
    assert states == {("j1", "r1"): "COMPLETE", ("j2", "r2"): "START", ("j2", "r2b"): "START", ("j3", "r3"): "COMPLETE"}


def test_rows_locked_first_are_locked_in_the_order_the_projection_updates_them(catalog_engine):
    """A transaction that locks its jobs or datasets first (a second write of the table) and one that
    only updates them (sorting its rows by name in Python) must take them in the same order, or they
    could each hold one the other waits for. The locking statements order by name bytewise, as
    Python orders strings, whatever the database's collation says of case, accents or symbols."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's locks")
    from sqlalchemy import select

    from airflow_ol_catalog.store.tables import dataset, job
    from airflow_ol_catalog.store.view_stamps import _bumps

    names = ["b", "B", "a", "_x", "é", "e", "Z9", "z", "10", "9", "a b", "a-b", "ä", "\u0430", "🙂", "A"]
    # one by one, last name first: ids in the opposite order of names
    send(
        catalog_engine,
        [
            _task(name, f"r{i}", "START", "2025-01-01T10:00:00Z", outputs=[(name, {})])
            for i, name in enumerate(sorted(names, reverse=True))
        ],
    )
    statements = _bumps("postgresql")
    with write_transaction(catalog_engine) as conn:
        job_ids = list(conn.execute(select(job.c.id)).scalars())
        dataset_ids = list(conn.execute(select(dataset.c.id)).scalars())
        locked_jobs = conn.execute(statements["lock_jobs"], {"ids": job_ids, "using": []}).scalars().all()
        locked_datasets = conn.execute(statements["lock_datasets"], {"ids": dataset_ids}).scalars().all()
        jobs = {r.id: (r.namespace, r.name) for r in conn.execute(select(job))}
        datasets = {r.id: (r.namespace_key, r.name) for r in conn.execute(select(dataset))}
    assert [jobs[i] for i in locked_jobs] == sorted(jobs.values())
    assert [datasets[i] for i in locked_datasets] == sorted(datasets.values())
    assert len(locked_datasets) == len(names)


def test_writers_sending_each_others_parents_never_deadlock(catalog_engine):
    """Two writers at once, each sending one DAG run's end and a task under it, and the other DAG
    run's progress: each locks both DAG runs. Runs are upserted in one statement in key order (their
    parents' ids read first, without locks), so neither waits for the other in opposite orders;
    parents upserted in a statement of their own made PostgreSQL break a deadlock most rounds."""
    import threading
    import uuid

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite")

    def run(name: str, run_id: str, kind: str, second: int, parent: str | None = None) -> dict:
        payload = event(kind, f"2025-01-01T10:00:{second:02d}Z", run_id=run_id)
        payload["job"]["name"] = name
        if parent:
            payload["run"]["facets"]["parent"] = {
                "run": {"runId": parent},
                "job": {"namespace": "team-a", "name": name.split(".")[0]},
            }
        return payload

    failures: list[BaseException] = []
    for _ in range(30):
        a, b = str(uuid.uuid4()), str(uuid.uuid4())
        send(catalog_engine, [run("dag_a", a, "START", 0), run("dag_b", b, "START", 0)])
        batches = [
            [
                run("dag_a", a, "COMPLETE", 30),
                run("dag_a.t", str(uuid.uuid4()), "COMPLETE", 20, a),
                run("dag_b", b, "RUNNING", 5),
            ],
            [
                run("dag_b", b, "COMPLETE", 30),
                run("dag_b.t", str(uuid.uuid4()), "COMPLETE", 20, b),
                run("dag_a", a, "RUNNING", 5),
            ],
        ]
        together = threading.Barrier(2)

        def write(batch: list[dict], together: threading.Barrier = together) -> None:
            together.wait()
            try:
                send(catalog_engine, batch, one_by_one=False)
            except BaseException as error:  # reported below, in the test's thread
                failures.append(error)

        threads = [threading.Thread(target=write, args=(batch,)) for batch in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures


def test_the_overviews_job_and_dataset_counts_are_the_lists_they_open(catalog_engine):
    """A parent known only through its children is a job with a page and a place in the job list:
    the count the overview links to that list counts it too; a dataset's alias is not listed."""
    from airflow_ol_catalog.lineage.catalog import search, stats
    from airflow_ol_catalog.store.engine import read_connection

    child = event("COMPLETE", "2025-01-01T10:00:01Z", run_id="child", outputs=[{"namespace": "s3://b", "name": "t"}])
    child["run"]["facets"]["parent"] = {"run": {"runId": "dag-run"}, "job": {"namespace": "team-a", "name": "dag"}}
    child["outputs"][0]["facets"] = {
        "symlinks": {"identifiers": [{"namespace": "hive://m", "name": "db.t", "type": "TABLE"}]}
    }
    send(catalog_engine, [child])
    with read_connection(catalog_engine) as conn:
        counts = stats(conn, 30)
        _, jobs = search(conn, "", "job", 100)
        _, datasets = search(conn, "", "dataset", 100)
    assert counts["jobs"] == jobs == 2
    assert counts["datasets"] == datasets


def test_spellings_of_one_namespace_make_one_dataset_shown_as_first_sent(catalog_engine):
    send(
        catalog_engine,
        [
            event(
                "COMPLETE",
                "2025-01-01T10:01:00Z",
                run_id="b",
                inputs=[{"namespace": "postgres://DB:5432", "name": "s.t"}],
            ),
            event(
                "COMPLETE", "2025-01-01T10:00:00Z", run_id="a", inputs=[{"namespace": "postgresql://db", "name": "s.t"}]
            ),
        ],
    )
    datasets = catalog(catalog_engine)["datasets"]
    assert list(datasets) == [("postgres://db", "s.t")] and datasets[("postgres://db", "s.t")][0] == "postgresql://db"
    assert datasets[("postgres://db", "s.t")][4] == "postgresql://db\x1fs.t"  # search goes by the spelling shown


def test_schema_change_makes_a_new_dataset_version(catalog_engine):
    def write(time, run_id, fields):
        return event(
            "COMPLETE",
            time,
            run_id=run_id,
            outputs=[{"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": fields}}}],
        )

    a, b = [{"name": "id", "type": "int"}], [{"name": "id", "type": "bigint"}]
    send(
        catalog_engine,
        [
            write("2025-01-01T10:00:00Z", "1", a),
            write("2025-01-02T10:00:00Z", "2", b),
            write("2025-01-03T10:00:00Z", "3", a),
        ],
    )
    versions = sorted(catalog(catalog_engine)["versions"].values(), key=lambda v: v[2])
    assert [(json.loads(v[0])[0]["type"], v[4]) for v in versions] == [("int", "1"), ("bigint", "2")]
    assert versions[0][3].day == 3  # the first schema was seen again last


def test_a_versions_digest_is_that_of_its_fields_and_version_as_compact_sorted_json(catalog_engine):
    """The digest that identifies a dataset version stays what earlier releases stored: SHA-256 of
    `[fields, version]` as compact JSON with sorted keys, so the same schema sent again is the same
    version and not a new one."""
    import hashlib
    import json

    from airflow_ol_catalog.store.tables import dataset_version

    fields = [{"type": "int", "name": "id", "description": 'é "quoted"'}, {"name": "n", "fields": [{"name": "x"}]}]
    facets = {"schema": {"fields": fields}, "version": {"datasetVersion": "42"}}
    send(
        catalog_engine,
        [event("COMPLETE", "2025-01-01T10:00:00Z", outputs=[{"namespace": "s3://b", "name": "t", "facets": facets}])],
    )
    expected = hashlib.sha256(
        json.dumps([fields, "42"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(dataset_version.c.digest)).scalars().all() == [expected]


def test_a_version_keeps_its_earliest_sighting_whatever_order_and_whoever_inserted_it(catalog_engine, monkeypatch):
    """Versions are read first, without a lock, on PostgreSQL (projection `_versions_first`). A
    sighting earlier than the stored one still becomes the version's first, a later one moves only
    its last, and so they do when another writer inserted the version after this one looked."""
    from airflow_ol_catalog.ingest import projection

    def write(time: str, run_id: str) -> dict:
        fields = [{"name": "id", "type": "int"}]
        outputs = [{"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": fields}}}]
        return event("COMPLETE", time, run_id=run_id, outputs=outputs)

    def version() -> tuple:
        (found,) = catalog(catalog_engine)["versions"].values()
        return found[4], found[2].date().isoformat(), found[3].date().isoformat()

    send(catalog_engine, [write("2025-01-02T10:00:00Z", "second")])
    send(catalog_engine, [write("2025-01-01T10:00:00Z", "first")])  # earlier than stored
    send(catalog_engine, [write("2025-01-03T10:00:00Z", "third")])  # later: only its last sighting
    assert version() == ("first", "2025-01-01", "2025-01-03")

    looked, hidden = projection._read_ids, []

    def unseen(conn, named, lookup):  # the version inserted by another writer after the look
        read = looked(conn, named, lookup)
        if read.versions is None:  # SQLite: nothing is read first
            return read
        hidden.append(({*read.versions}, read.versions_read))
        return read._replace(versions={})

    monkeypatch.setattr(projection, "_read_ids", unseen)
    send(catalog_engine, [write("2025-01-04T10:00:00Z", "fourth")])
    send(catalog_engine, [write("2024-12-31T10:00:00Z", "zeroth")])
    assert version() == ("zeroth", "2024-12-31", "2025-01-04")
    if catalog_engine.dialect.name == "postgresql":  # the version was read with the look-up, and hidden
        assert [(len(found), found <= read) for found, read in hidden] == [(1, True), (1, True)]
    else:
        assert hidden == []


def test_only_a_new_or_earlier_version_rebuilds_the_views_of_the_jobs_using_its_dataset(catalog_engine):
    """A version new to a dataset, or seen earlier than known, changes which version other jobs'
    runs read: their views are built again (their view stamp moves). A later sighting of a known
    version changes nothing they show, and leaves them be."""
    from airflow_ol_catalog.store.tables import job

    def write(time: str, run_id: str, column: str = "id") -> dict:
        outputs = [{"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": [{"name": column}]}}}]
        return event("COMPLETE", time, run_id=run_id, job={"namespace": "team-a", "name": "writer"}, outputs=outputs)

    reader = event(
        "COMPLETE", "2025-01-01T12:00:00Z", run_id="read", job={"namespace": "team-a", "name": "reader"},
        inputs=[{"namespace": "s3://b", "name": "t"}],
    )  # fmt: skip

    def reader_stamp() -> int:
        with read_connection(catalog_engine) as conn:
            return conn.execute(select(job.c.view_stamp).where(job.c.name == "reader")).scalar_one()

    send(catalog_engine, [write("2025-01-01T10:00:00Z", "w1"), reader])
    stamps = [reader_stamp()]
    for time, run_id, column in (
        ("2025-01-01T11:00:00Z", "later", "id"),  # known, seen later: nothing to rebuild
        ("2025-01-01T09:00:00Z", "earlier", "id"),  # known, seen earlier: the reader's run read it
        ("2025-01-01T13:00:00Z", "new", "name"),  # a new version
        ("2025-01-01T14:00:00Z", "again", "name"),
    ):
        send(catalog_engine, [write(time, run_id, column)])
        stamps.append(reader_stamp())
    moved = [after > before for before, after in itertools.pairwise(stamps)]
    assert moved == [False, True, True, False]


def test_a_batch_naming_many_known_versions_holds_none_before_its_last_round_trip(catalog_engine, monkeypatch):
    """However many known versions a batch names (enough for its rows to go through COPY), their
    update waits for the batch's last round trip, in key order: a batch paused after projecting
    them holds none, and a single event writing one of them commits meanwhile. (Were they updated
    at once, the batch would wait for that event's job row and the event for the batch's version:
    a deadlock, which PostgreSQL breaks after a second.)"""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import threading

    from airflow_ol_catalog.ingest import projection
    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS

    def write(column: int, time: str, run_id: str) -> dict:
        outputs = [{"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": [{"name": f"c{column}"}]}}}]
        return event("COMPLETE", time, run_id=run_id, outputs=outputs)

    many = range(STAGE_MIN_ROWS + 1)
    send(catalog_engine, [write(i, "2025-01-01T10:00:00Z", f"a{i}") for i in many], one_by_one=False)
    paused, resume, failed = threading.Event(), threading.Event(), []
    column_lineage = projection._project_column_lineage

    def pausing(conn, *args):  # the versions are projected: the next step waits
        if threading.current_thread().name == "batch":
            paused.set()
            resume.wait(30)
        return column_lineage(conn, *args)

    def sending(payloads: list[dict]) -> None:
        try:
            send(catalog_engine, payloads, one_by_one=False)
        except Exception as error:  # reported by the test
            failed.append(error)

    monkeypatch.setattr(projection, "_project_column_lineage", pausing)
    batch = threading.Thread(
        name="batch", target=sending, args=([write(i, "2025-01-02T10:00:00Z", f"b{i}") for i in many],)
    )
    batch.start()
    try:
        assert paused.wait(10)
        single = threading.Thread(target=sending, args=([write(0, "2025-01-03T10:00:00Z", "c0")],))
        single.start()
        single.join(10)
        assert not single.is_alive(), "the single event waited for the batch's transaction"
    finally:
        resume.set()
        batch.join(30)
    assert not failed
    versions = catalog(catalog_engine)["versions"].values()
    assert len(versions) == len(many) and max(v[3] for v in versions).day == 3


def test_a_batch_naming_many_known_rows_writes_none_of_them_before_its_last_round_trip(catalog_engine, request):
    """Jobs, datasets, their facets, edges and versions are rows many writers share. However many a
    batch names (enough for rows to go through COPY), those that exist are updated in the batch's
    last round trip, in key order, as every writer updates them: before it, the batch only reads
    them (and inserts the new ones). Written at once, they would be held while the batch takes its
    other rows, and a writer holding one of those in its last round trip would wait for them."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's last round trip")
    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS

    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/airflow"
    sql_facet = "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"

    def task(i: int, time: str, run_id: str) -> dict:
        payload = event(
            "COMPLETE",
            time,
            run_id=run_id,
            inputs=[{"namespace": "postgres://db", "name": f"in_{i}"}],
            outputs=[
                {"namespace": "s3://b", "name": f"out_{i}", "facets": {"schema": {"fields": [{"name": f"c{i}"}]}}}
            ],
        )
        payload["job"] = {
            "namespace": payload["job"]["namespace"],
            "name": f"task_{i}",
            "facets": {"sql": {"_producer": producer, "_schemaURL": sql_facet, "query": f"select {i}"}},
        }
        return payload

    many = range(STAGE_MIN_ROWS + 1)
    send(catalog_engine, [task(i, "2025-01-01T10:00:00Z", f"a{i}") for i in many], one_by_one=False)
    sent = request.getfixturevalue("driver_statements")  # from here on
    send(catalog_engine, [task(i, "2025-01-02T10:00:00Z", f"b{i}") for i in many], one_by_one=False)
    shared = (
        "ol_catalog_job ",
        "ol_catalog_dataset ",
        "ol_catalog_facet ",
        "ol_catalog_edge ",
        "ol_catalog_dataset_version ",
    )
    before_last = [
        statement
        for text in sent[:-1]
        for statement in text.split(";\n")
        if any(f"INSERT INTO {table}" in statement or f"UPDATE {table}" in statement for table in shared)
        and "DO NOTHING" not in statement
    ]
    assert not before_last, [statement[:120] for statement in before_last]
    last = sent[-1]
    for table in shared:
        assert f"INSERT INTO {table}" in last, table  # their updates are all there
    edges = catalog(catalog_engine)["edges"]
    for i in many:
        for dataset, direction in ((("postgres://db", f"in_{i}"), "in"), (("s3://b", f"out_{i}"), "out")):
            first, last, last_run, runs, confirmed, _ = edges[(("team-a", f"task_{i}"), dataset, direction)]
            assert (first.day, last.day, last_run, runs, confirmed) == (1, 2, f"b{i}", 2, True), (i, direction)


def test_the_rows_every_writer_updates_are_the_last_a_transaction_writes(catalog_engine, request):
    """The namespace's counters and the log's tally are updated by every transaction of a busy
    namespace: on PostgreSQL they are the last statements of the last round trip, after every
    row of the projection, so a transaction holding them waits for no other row and their writers
    never wait for each other in a circle (replay, which writes at once, takes them last too)."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's last round trip")
    send(catalog_engine, [event("START", "2025-01-01T10:00:00Z")])  # the job, the dataset, the namespace exist
    sent = request.getfixturevalue("driver_statements")  # from here on
    payload = event("COMPLETE", "2025-01-01T11:00:00Z", inputs=[{"namespace": "postgres://db", "name": "a"}])
    send(catalog_engine, [payload])
    names = [" ".join(text.strip().split(" ", 3)[:3]) for text in sent[-1].split(";\n")]
    last = [
        "UPDATE ol_catalog_namespace SET",
        "INSERT INTO ol_catalog_namespace_integration",
        "INSERT INTO ol_catalog_event_tally",
    ]
    assert names[-3:] == last, names
    assert any(name.startswith("INSERT INTO ol_catalog_job") for name in names[:-3])  # the job's touch, before them


def test_rows_many_writers_update_are_written_in_key_order_whatever_order_events_name_them(catalog_engine, monkeypatch):
    """Two writers that update the same facets or edges in opposite orders could each hold a row
    the other waits for. Facets, edges, column lineage and flows are written in key order, however
    an event lists them (two events here name the same job facets and inputs in opposite orders)."""
    from airflow_ol_catalog.ingest import projection

    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/airflow"

    def facet(kind: str, **fields) -> dict:
        url = f"https://openlineage.io/spec/facets/1-0-0/{kind}JobFacet.json#/$defs/{kind}JobFacet"
        return {"_producer": producer, "_schemaURL": url, **fields}

    facets = {"sql": facet("SQL", query="select 1"), "documentation": facet("Documentation", description="d")}
    inputs = [{"namespace": "pg://db", "name": name} for name in ("z", "m", "a")]

    def sent(time: str, run_id: str, reverse: bool) -> dict:
        payload = event("COMPLETE", time, run_id=run_id, inputs=inputs[::-1] if reverse else inputs)
        payload["job"]["facets"] = dict(reversed(facets.items())) if reverse else facets
        return payload

    upsert, written = projection._upsert, []

    def noting(conn, statement, rows):
        written.append((statement.table.name, rows))
        return upsert(conn, statement, rows)

    monkeypatch.setattr(projection, "_upsert", noting)
    send(catalog_engine, [sent("2025-01-01T10:00:00Z", "r1", False), sent("2025-01-01T11:00:00Z", "r2", True)])
    keys = {
        "ol_catalog_facet": ("entity", "entity_id", "name"),
        "ol_catalog_edge": ("job_id", "dataset_id", "direction"),
    }
    seen = set()
    for table, rows in written:
        if table in keys:
            found = [tuple(row[k] for k in keys[table]) for row in rows]
            assert found == sorted(found), (table, found)
            seen.add(table)
    assert seen == set(keys)


def _symlinked(path: str, table: str, kind: str = "TABLE", namespace: str = "s3://lake") -> dict:
    return {
        "namespace": namespace,
        "name": path,
        "facets": {"symlinks": {"identifiers": [{"namespace": "hive://ms", "name": table, "type": kind}]}},
    }


def _symlink_story() -> list[dict]:
    """A path with lineage and a schema of its own, a table with lineage of its own, then the link."""
    by_path = event(
        "COMPLETE",
        "2025-01-01T10:00:00Z",
        run_id="spark-1",
        outputs=[
            {
                "namespace": "s3://lake",
                "name": "wh/t",
                "facets": {"schema": {"fields": [{"name": "id", "type": "long"}]}},
            },
        ],
    )
    by_table = event(
        "COMPLETE", "2025-01-01T11:00:00Z", run_id="hive-1", inputs=[{"namespace": "hive://ms", "name": "db.t"}]
    )
    by_table["job"]["name"] = "report"
    link = event("COMPLETE", "2025-01-02T10:00:00Z", run_id="spark-2", outputs=[_symlinked("wh/t", "db.t")])
    return [by_path, by_table, link]


def test_symlinks_make_the_path_an_alias_of_the_table_holding_all_lineage(catalog_engine):
    send(catalog_engine, _symlink_story())
    cat = catalog(catalog_engine)
    table, path = ("hive://ms", "db.t"), ("s3://lake", "wh/t")
    assert cat["datasets"][path][3] == table and cat["datasets"][table][3] is None
    assert cat["datasets"][table][1].hour == 10 and cat["datasets"][table][2].day == 2  # seen as either name
    assert {(job[1], ds, direction) for (job, ds, direction) in cat["edges"]} == {
        ("etl.load", table, "out"),
        ("report", table, "in"),
    }
    assert cat["edges"][(("team-a", "etl.load"), table, "out")][3] == 2  # both Spark runs
    assert {key[0] for key in cat["versions"]} == {table}
    assert {key[1] for key in cat["facets"] if key[0] == "dataset"} == {table}


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_symlinked_catalog_does_not_depend_on_arrival_order(order):
    story = _symlink_story()
    expected = _fresh_engine()
    send(expected, story)
    engine = _fresh_engine()
    send(engine, [story[i] for i in order])
    assert catalog(engine) == catalog(expected)


def test_a_table_symlink_wins_over_other_names_and_chains_join(catalog_engine):
    first = event(
        "COMPLETE", "2025-01-01T10:00:00Z", run_id="a", outputs=[_symlinked("wh/t", "a-location", kind="LOCATION")]
    )
    second = event(
        "COMPLETE", "2025-01-01T11:00:00Z", run_id="b", inputs=[_symlinked("a-location", "db.t", namespace="hive://ms")]
    )
    send(catalog_engine, [first])
    assert catalog(catalog_engine)["datasets"][("s3://lake", "wh/t")][3] == ("hive://ms", "a-location")
    send(catalog_engine, [second])
    datasets = catalog(catalog_engine)["datasets"]
    aliases = {key: row[3] for key, row in datasets.items()}
    assert aliases == {
        ("s3://lake", "wh/t"): ("hive://ms", "db.t"),
        ("hive://ms", "a-location"): ("hive://ms", "db.t"),
        ("hive://ms", "db.t"): None,
    }
    assert {ds for (_, ds, _) in catalog(catalog_engine)["edges"]} == {("hive://ms", "db.t")}


# --- order independence -----------------------------------------------------------------------------


def _fresh_engine():
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    metadata.create_all(engine)
    return engine


def _real_runs() -> list[dict]:
    events = []
    for folder in (
        "02_table_lineage",
        "03_column_lineage",
        "04_spark_application",
        "05_failed_run",
        "06_dataset_and_job_events",
        "07_symlinks",
        "08_data_quality",
        "09_explicit_lineage",
    ):
        events.extend(load_set(EXAMPLES / folder, "examples"))
    if CORPUS.is_dir():
        for folder in ("03_multi_task_dag", "06_spark_cll"):
            events.extend(load_set(CORPUS / folder / "events"))
    return events


REAL_EVENTS = _real_runs()
_engine = _fresh_engine()
send(_engine, REAL_EVENTS)
IN_ORDER = catalog(_engine)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.permutations(range(len(REAL_EVENTS))),
    st.lists(st.integers(0, len(REAL_EVENTS) - 1), max_size=8),
    st.integers(1, 6),
)
def test_any_order_and_any_duplicates_give_the_same_catalog(order, repeats, batch_size):
    engine = _fresh_engine()
    sequence = [REAL_EVENTS[i] for i in list(order) + repeats]
    subs = [Submission.of(validate_event(p), None, 500) for p in sequence]
    for start in range(0, len(subs), batch_size):
        with write_transaction(engine) as conn:
            store_events(conn, subs[start : start + batch_size], "register")
    assert catalog(engine) == IN_ORDER


@pytest.mark.parametrize(
    ("sizes", "copies", "repeats"),
    [
        ((2, 5, 3, 6, 4), 1, 12),  # each batch's look-up goes with its insert (PostgreSQL)
        ((10, 90), 2, 12),  # a batch too large for that, with duplicates: looked up for the events projected
        ((90,), 2, 0),  # too large, every event new once: looked up as planned before the insert
    ],
)
def test_shuffled_events_and_duplicates_in_batches_give_the_same_catalog_on_each_backend(
    catalog_engine, sizes, copies, repeats
):
    """On PostgreSQL what a batch's events name is read with their insert into the log, for every
    event that could be projected; those the log holds already are then not projected. Batches
    that mix such duplicates with new events, in any order, still give the catalog of the events
    sent once in order (the property test above covers orders on SQLite)."""
    rng = random.Random(11)
    sequence = list(REAL_EVENTS) * copies + rng.sample(REAL_EVENTS, repeats)
    rng.shuffle(sequence)
    subs = [Submission.of(validate_event(p), None, 500) for p in sequence]
    start, cycle = 0, itertools.cycle(sizes)
    while start < len(subs):
        size = next(cycle)
        with write_transaction(catalog_engine) as conn:
            store_events(conn, subs[start : start + size], "register")
        start += size
    assert catalog(catalog_engine) == IN_ORDER


def test_dataset_lineage_facet_gives_column_lineage_like_column_lineage(catalog_engine):
    lineage_facet = {
        "inputs": [
            {
                "namespace": "postgres://db",
                "name": "orders",
                "type": "DATASET",
                "field": "status",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
            }
        ],
        "fields": {
            "total": {
                "inputs": [
                    {
                        "namespace": "postgres://db",
                        "name": "orders",
                        "type": "DATASET",
                        "field": "amount",
                        "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "masking": False}],
                    }
                ]
            },
            "generated": {"inputs": [{"namespace": "gen", "name": "seed-job", "type": "JOB"}]},
        },
    }
    send(
        catalog_engine,
        [
            event(
                "COMPLETE",
                "2025-01-01T10:00:00Z",
                outputs=[{"namespace": "postgres://db", "name": "totals", "facets": {"lineage": lineage_facet}}],
            )
        ],
    )
    rows = {(k[1], k[3], k[4], k[5]) for k in catalog(catalog_engine)["column_lineage"]}
    assert rows == {("total", "amount", "DIRECT", "AGGREGATION"), ("", "status", "INDIRECT", "FILTER")}


def test_job_lineage_facet_declares_edges_and_column_lineage(catalog_engine):
    payload = {
        "eventTime": "2025-01-01T10:00:00Z",
        "producer": "p",
        "job": {
            "namespace": "n",
            "name": "model",
            "facets": {
                "lineage": {
                    "entries": [
                        {
                            "namespace": "postgres://db",
                            "name": "dst",
                            "type": "DATASET",
                            "inputs": [{"namespace": "postgres://db", "name": "src", "type": "DATASET"}],
                            "fields": {
                                "id": {
                                    "inputs": [
                                        {
                                            "namespace": "postgres://db",
                                            "name": "src",
                                            "type": "DATASET",
                                            "field": "id",
                                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                        }
                                    ]
                                }
                            },
                        },
                        {"namespace": "n", "name": "model", "type": "JOB", "inputs": []},
                    ]
                }
            },
        },
    }
    send(catalog_engine, [payload])
    cat = catalog(catalog_engine)
    assert {(k[1][1], k[2]): v[5] for k, v in cat["edges"].items()} == {("dst", "out"): True, ("src", "in"): True}
    assert {(k[1], k[3]) for k in cat["column_lineage"]} == {("id", "id"), ("", "")}


def test_tags_facets_become_the_tag_list(catalog_engine):
    from airflow_ol_catalog.lineage.tags import list_tags

    payload = event(
        "COMPLETE",
        "2025-01-01T10:00:00Z",
        outputs=[
            {
                "namespace": "s3://b",
                "name": "t",
                "facets": {
                    "tags": {
                        "tags": [
                            {"key": "pii", "value": "true", "source": "CONSOLE"},
                            {"key": "tier", "value": "gold", "source": "DBT"},
                        ]
                    }
                },
            }
        ],
    )
    payload["job"]["facets"]["tags"] = {
        "tags": [{"key": "tier", "value": "gold", "source": "AIRFLOW"}, {"value": "no key"}]
    }
    send(catalog_engine, [payload])
    with read_connection(catalog_engine) as conn:
        tags, total = list_tags(conn, 100, 0)
    assert total == 2 and [(t["name"], t["usage"]) for t in tags] == [
        ("pii", {"dataset": 1}),
        ("tier:gold", {"dataset": 1, "job": 1}),
    ]
    assert tags[1]["description"] == "from AIRFLOW, DBT"


def test_a_writer_paused_before_its_last_round_trip_holds_no_row_other_writers_share(catalog_engine, monkeypatch):
    """Tasks of one DAG run report at once, through several API servers: their events share the
    DAG's job, the DAG run, the datasets, the job's facets and the version of the table they
    write. A writer must not hold those rows for its whole transaction (on PostgreSQL the others
    would wait for it, one after another): it reads them, and touches them only in the last round
    trip before its commit. Paused with everything else projected, it holds none."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import threading

    from airflow_ol_catalog.ingest import projection

    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/airflow"
    schema = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "fields": [{"name": "id", "type": "bigint"}],
    }

    def task_event(run_id: str, time: str) -> dict:
        # the same output with the same schema (one dataset version) and the same job facets
        outputs = [{"namespace": "pg://db", "name": "shop.orders", "facets": {"schema": schema}}]
        payload = event("COMPLETE", time, run_id=run_id, outputs=outputs)
        payload["run"]["facets"]["parent"] = {
            "run": {"runId": "dag-run-1"},
            "job": {"namespace": "team-a", "name": "dag"},
        }
        payload["job"]["facets"] = {
            "documentation": {
                "_producer": producer,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet",
                "description": "loads the orders",
            }
        }
        return payload

    send(catalog_engine, [task_event("task-0", "2025-01-01T10:00:00Z")])  # the shared rows exist
    paused, resume = threading.Event(), threading.Event()
    queue_writes = projection.queue_writes

    def pausing(conn, *args):  # everything projected but the writes sent just before the commit
        if threading.current_thread().name == "slow-writer":
            paused.set()
            resume.wait(30)
        return queue_writes(conn, *args)

    monkeypatch.setattr(projection, "queue_writes", pausing)
    slow = threading.Thread(
        name="slow-writer", target=send, args=(catalog_engine, [task_event("task-1", "2025-01-01T11:00:00Z")])
    )
    slow.start()
    try:
        assert paused.wait(10)
        other = threading.Thread(target=send, args=(catalog_engine, [task_event("task-2", "2025-01-01T12:00:00Z")]))
        other.start()
        other.join(10)
        assert not other.is_alive(), "the second writer waited for the first one's transaction"
    finally:
        resume.set()
        slow.join(30)
    cat = catalog(catalog_engine)
    runs = runs_of(cat)
    assert {r for (_, r) in runs} >= {"task-0", "task-1", "task-2", "dag-run-1"}
    with read_connection(catalog_engine) as conn:
        from sqlalchemy import select

        from airflow_ol_catalog.store.tables import dataset, job

        last = conn.execute(select(job.c.last_seen_at).where(job.c.name == "etl.load")).scalar_one()
        seen = conn.execute(select(dataset.c.last_seen_at).where(dataset.c.name == "shop.orders")).scalar_one()
    assert last.hour == seen.hour == 12, "both writers' sightings count, whichever committed last"


def test_a_name_made_an_alias_while_another_writer_uses_it_keeps_that_writers_lineage(catalog_engine, monkeypatch):
    """Writer B reads dataset `wh/t` (no lock) and is paused; writer A's event makes `wh/t` an
    alias of the table `db.t` and commits. B's lineage must end up on the table, not on the alias
    where nobody reads it: B's final update sees the alias changed and B runs again."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import threading

    from airflow_ol_catalog.ingest import projection
    from airflow_ol_catalog.ingest.writer import BatchCommitter

    by_path, by_table, link = _symlink_story()
    send(catalog_engine, [by_path, by_table])  # both names exist, each with lineage of its own
    later = event(
        "COMPLETE", "2025-01-03T10:00:00Z", run_id="spark-3", outputs=[{"namespace": "s3://lake", "name": "wh/t"}]
    )
    later["job"]["name"] = "compaction"
    paused, resume, runs = threading.Event(), threading.Event(), []
    project_io = projection._project_io

    def pausing(conn, *args):
        if threading.current_thread().name == "writer-b":
            runs.append(1)
            if len(runs) == 1:
                paused.set()
                resume.wait(30)
        return project_io(conn, *args)

    monkeypatch.setattr(projection, "_project_io", pausing)
    committer = BatchCommitter(catalog_engine, "register")
    outcome = []
    b = threading.Thread(
        name="writer-b",
        target=lambda: outcome.extend(committer.commit([[Submission.of(validate_event(later), None, 500)]])),
    )
    b.start()
    try:
        assert paused.wait(10)
        send(catalog_engine, [link])  # A: commits while B holds its ids
    finally:
        resume.set()
        b.join(30)
    assert len(runs) == 2, "B ran again after its alias check failed"
    assert not any(o.duplicate for o in outcome[0])
    cat = catalog(catalog_engine)
    table, path = ("hive://ms", "db.t"), ("s3://lake", "wh/t")
    assert cat["datasets"][path][3] == table
    assert (("team-a", "compaction"), table, "out") in cat["edges"]
    assert not [key for key in cat["edges"] if key[1] == path], "no lineage left on the alias"


def test_a_runs_writes_are_linked_with_its_end_and_updated_only_when_linked_before_it_ended(
    catalog_engine, monkeypatch
):
    """A run's new links carry its end (its upsert returns it): a run that completes with its
    outputs, in one event or in one transaction, writes each link once. Only the writes linked
    before their run ended are updated after it."""
    from sqlalchemy import event as sqlalchemy_event

    from airflow_ol_catalog.store.tables import run, run_dataset

    sent: list[str] = []

    def execute(cursor, statement, *args):
        sent.append(statement.decode() if isinstance(statement, bytes) else statement)
        return cursor.execute(statement, *args)

    def updates() -> int:
        found = sum(statement.count("UPDATE ol_catalog_run_dataset") for statement in sent)
        sent.clear()
        return found

    def through_sqlalchemy(*args):
        sent.append(args[2])

    through_driver_cursors(monkeypatch, execute)
    sqlalchemy_event.listen(catalog_engine, "before_cursor_execute", through_sqlalchemy)
    table = [{"namespace": "s3://lake", "name": "t"}]
    try:
        send(catalog_engine, [event("COMPLETE", "2025-01-01T10:00:00Z", run_id="one", outputs=table)])
        assert updates() == 0
        two = [
            event("START", "2025-01-01T11:00:00Z", run_id="two", outputs=table),
            event("COMPLETE", "2025-01-01T11:05:00Z", run_id="two"),
        ]
        send(catalog_engine, two, one_by_one=False)
        assert updates() == 0
        send(catalog_engine, [event("START", "2025-01-01T12:00:00Z", run_id="three", outputs=table)])
        assert updates() == 0
        send(catalog_engine, [event("COMPLETE", "2025-01-01T12:05:00Z", run_id="three")])
        assert updates() == 1
    finally:
        sqlalchemy_event.remove(catalog_engine, "before_cursor_execute", through_sqlalchemy)
    with read_connection(catalog_engine) as conn:
        ends = conn.execute(
            select(run.c.run_id, run_dataset.c.ended_at)
            .join_from(run_dataset, run, run.c.id == run_dataset.c.run_pk)
            .order_by(run.c.run_id)
        ).all()
    assert [(run_id, end.strftime("%H:%M")) for run_id, end in ends] == [
        ("one", "10:00"),
        ("three", "12:05"),
        ("two", "11:05"),
    ]


@pytest.mark.parametrize("interleaving", ["moved-before-the-end", "end-waits-for-the-move", "replayed-end-waits"])
def test_a_run_ending_while_its_write_moves_to_another_name_keeps_the_writes_end(
    catalog_engine, monkeypatch, interleaving
):
    """Run spark-1 named `wh/t` at START. Writer W completes it (naming no dataset); writer M makes
    `wh/t` an alias of the table `db.t`, moving `wh/t`'s links there with their ends. M copies an
    end without locking the run: it holds the datasets' rows, and W locks those (it bumps the
    datasets its run wrote) before it writes its ends. Either way the moved link has the end.

    - moved-before-the-end: M commits after W read its run's links, before W's last round trip;
      W writes the end on the link where M moved it.
    - end-waits-for-the-move: M holds the datasets when W's last round trip comes; W waits for M,
      then writes the end on the moved link. Were the ends written before the datasets were
      locked, W would end the old link, and M would then delete it.
    - replayed-end-waits: the same, W replaying the COMPLETE from quarantine (its namespace was
      deleted when it came): replay takes its rows in the writers' order too."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import threading
    import time

    from sqlalchemy import text

    from airflow_ol_catalog.ingest import namespaces, projection, quarantine, symlinks
    from airflow_ol_catalog.store.tables import dataset, run, run_dataset

    by_path, by_table, link = _symlink_story()
    by_path["eventType"] = "START"
    send(catalog_engine, [by_path, by_table])
    complete = event("COMPLETE", "2025-01-01T10:30:00Z", run_id="spark-1")
    paused, resume = threading.Event(), threading.Event()
    if interleaving == "replayed-end-waits":
        with write_transaction(catalog_engine) as conn:
            namespaces.set_deleted(conn, "team-a", True)
        send(catalog_engine, [complete])  # quarantined
        with write_transaction(catalog_engine) as conn:
            namespaces.set_deleted(conn, "team-a", False)

    def pausing(real, thread_name):
        def paused_there(*args):
            if threading.current_thread().name == thread_name and not paused.is_set():
                paused.set()
                assert resume.wait(30)
            return real(*args)

        return paused_there

    failures: list[BaseException] = []

    def sending(payload):
        def run_it():
            try:
                if payload is None:
                    with write_transaction(catalog_engine) as conn:
                        assert quarantine.replay_quarantined(conn) == {"team-a": 1}
                else:
                    send(catalog_engine, [payload])
            except BaseException as error:  # reported by the test's thread
                failures.append(error)

        return run_it

    if interleaving == "moved-before-the-end":
        # after the run's links are read (`_project_io`), before the last round trip
        monkeypatch.setattr(projection, "_project_facets", pausing(projection._project_facets, "ending"))
        first, second = threading.Thread(name="ending", target=sending(complete)), None
    else:
        # after the datasets are locked, before the links are read
        monkeypatch.setattr(symlinks, "_with_lineage", pausing(symlinks._with_lineage, "moving"))
        first = threading.Thread(name="moving", target=sending(link))
        ending = None if interleaving == "replayed-end-waits" else complete
        second = threading.Thread(name="ending", target=sending(ending))
    first.start()
    try:
        assert paused.wait(30)
        if second is None:
            send(catalog_engine, [link])
        else:
            second.start()
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            deadline = time.monotonic() + 30
            while True:
                with read_connection(catalog_engine) as conn:
                    if conn.execute(text(waiting)).scalar():
                        break  # W waits for the datasets M holds
                assert time.monotonic() < deadline, "W never waited for M"
                time.sleep(0.05)
    finally:
        resume.set()
        first.join(30)
        if second is not None:
            second.join(30)
    assert not failures
    with read_connection(catalog_engine) as conn:
        ends = conn.execute(
            select(dataset.c.name, run_dataset.c.ended_at)
            .join_from(run_dataset, run, run.c.id == run_dataset.c.run_pk)
            .join(dataset, dataset.c.id == run_dataset.c.dataset_id)
            .where(run.c.run_id == "spark-1", run_dataset.c.direction == "out")
        ).all()
    assert [(name, end.isoformat()) for name, end in ends] == [("db.t", "2025-01-01T10:30:00+00:00")]


def _settling_while_another_writes(engine, monkeypatch, settling: dict, other: dict) -> int:
    """Send `settling` (S, which brings a new symlink); once it settled, send `other` (W) and keep S
    paused until W waits for a lock S holds. Returns how many times S settled (once unless
    PostgreSQL broke a deadlock); fails with what either raised."""
    import threading
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from airflow_ol_catalog.ingest import symlinks

    settled, real_settle, attempts = threading.Event(), symlinks._settle, []

    def waiting_after_settling(*args):
        attempts.append(1)
        changed = real_settle(*args)
        settled.set()
        deadline = time.monotonic() + 10
        with engine.connect() as conn:  # until W waits for a lock S holds
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            while not conn.execute(waiting).scalar() and time.monotonic() < deadline:
                conn.rollback()
                time.sleep(0.02)
        return changed

    monkeypatch.setattr(symlinks, "_settle", waiting_after_settling)
    failed: list[BaseException] = []

    def sending(payload: dict) -> None:
        for _ in range(3):
            try:
                send(engine, [payload])
                return
            except OperationalError as error:  # W read a name before S made it an alias: runs again
                if "became an alias" not in str(error):
                    failed.append(error)
                    return
            except BaseException as error:  # reported by the test
                failed.append(error)
                return

    s = threading.Thread(target=sending, args=(settling,))
    s.start()
    assert settled.wait(30)
    w = threading.Thread(target=sending, args=(other,))
    w.start()
    s.join(30)
    w.join(30)
    assert not failed, failed
    return len(attempts)


def test_a_writer_settling_a_symlink_locks_its_jobs_before_its_datasets(catalog_engine, monkeypatch):
    """Writer S brings a path's first symlink: settling the path's identity locks the path's row (and
    the table's) before S's last round trip. Writer W names the path's job and the path; its last
    round trip updates the job, then waits for the path S holds. S then updated the job in its own
    last round trip, which W held: PostgreSQL broke the deadlock. S now locks, before the names it
    settles, the rows its last round trip will lock, in that round trip's order (the job first), so
    W waits for S's job without holding anything S wants (store/sql.py `lock_now`). W, which read
    the path before it became an alias, then runs again, as the writer runs such a transaction."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    send(catalog_engine, [_task("j1", "r1", "START", "2025-01-01T10:00:00Z", outputs=[("wh/t", {})])])
    path = {"facets": {"symlinks": {"identifiers": [{"namespace": "hive://ms", "name": "db.t", "type": "TABLE"}]}}}
    settling = _task("j1", "r2", "START", "2025-01-01T11:00:00Z", outputs=[("wh/t", path)])
    naming = _task("j1", "r3", "START", "2025-01-01T11:00:00Z", outputs=[("wh/t", {})])
    _settling_while_another_writes(catalog_engine, monkeypatch, settling, naming)
    cat = catalog(catalog_engine)
    assert {run_id for (_, run_id) in runs_of(cat)} == {"r1", "r2", "r3"}
    aliases = {key: values[3] for key, values in cat["datasets"].items()}
    assert aliases == {("postgres://db", "wh/t"): ("hive://ms", "db.t"), ("hive://ms", "db.t"): None}


def test_a_writer_settling_a_symlink_and_versioning_a_dataset_locks_no_job_after_it(catalog_engine, monkeypatch):
    """Writer S brings a path's first symlink and a new schema of a table job R reads. Settling
    locks S's rows before its last round trip; writer W, running R again, updates R there, then
    waits for the table S holds. S's last round trip then bumped the jobs using the table's new
    version, R among them, which W held: PostgreSQL broke the deadlock and S ran again. A
    transaction that settles a symlink bumps the catalog's view generation, so no job's own stamp
    needs the bump: S now locks no job after its datasets."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    from sqlalchemy import text

    send(catalog_engine, [_task("reader", "r0", "START", "2025-01-01T10:00:00Z", inputs=["hot"])])
    generation = text("SELECT value FROM ol_catalog_view_generation")
    with read_connection(catalog_engine) as conn:
        before = conn.execute(generation).scalar()
    path = {"facets": {"symlinks": {"identifiers": [{"namespace": "hive://ms", "name": "db.t", "type": "TABLE"}]}}}
    schema = {"facets": {"schema": {"fields": [{"name": "id", "type": "int"}]}}}
    settling = _task("writer", "w1", "START", "2025-01-01T11:00:00Z", outputs=[("hot", schema), ("wh/t", path)])
    reading = _task("reader", "r1", "START", "2025-01-01T11:00:00Z", inputs=["hot"])
    assert _settling_while_another_writes(catalog_engine, monkeypatch, settling, reading) == 1  # no deadlock
    assert {run_id for (_, run_id) in runs_of(catalog(catalog_engine))} == {"r0", "r1", "w1"}
    with read_connection(catalog_engine) as conn:  # R's views are built again: the generation moved
        assert conn.execute(generation).scalar() > before


def test_settling_a_symlink_leaves_the_jobs_reading_its_datasets_unlocked(catalog_engine, monkeypatch):
    """A batch naming a dataset that many jobs read brings a new symlink: the settle locks the jobs
    the batch names and its datasets before the names it settles, but not every job reading those
    datasets, which other writers would wait for until the commit (it did, for one review)."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    import threading

    from sqlalchemy import text

    from airflow_ol_catalog.ingest import symlinks

    send(
        catalog_engine,
        [_task(f"reader{i}", f"r{i}", "START", "2025-01-01T10:00:00Z", inputs=["hot"]) for i in range(3)],
    )
    path = {"facets": {"symlinks": {"identifiers": [{"namespace": "hive://ms", "name": "db.t", "type": "TABLE"}]}}}
    settling = _task("writer", "w1", "START", "2025-01-01T11:00:00Z", inputs=["hot"], outputs=[("wh/t", path)])
    settled, resume, real_settle = threading.Event(), threading.Event(), symlinks._settle

    def pausing_after_settling(*args):
        changed = real_settle(*args)
        settled.set()
        assert resume.wait(30)
        return changed

    monkeypatch.setattr(symlinks, "_settle", pausing_after_settling)
    failed: list[BaseException] = []

    def sending() -> None:
        try:
            send(catalog_engine, [settling])
        except BaseException as error:  # reported by the test
            failed.append(error)

    s = threading.Thread(target=sending)
    s.start()
    try:
        assert settled.wait(30)
        with catalog_engine.connect() as conn:
            readers = (
                conn.execute(
                    text("SELECT name FROM ol_catalog_job WHERE name LIKE 'reader%' ORDER BY name FOR UPDATE NOWAIT")
                )
                .scalars()
                .all()
            )
            conn.rollback()
        assert readers == ["reader0", "reader1", "reader2"]
    finally:
        resume.set()
        s.join(30)
    assert not failed, failed


def test_the_jobs_using_a_dataset_are_locked_in_id_order_whatever_order_their_rows_lie_in(catalog_engine):
    """A dataset's new schema version bumps the view stamps of every job using it, in one UPDATE.
    On PostgreSQL it locks them in id order, not in the order its plan meets them (the table's,
    which updates reshuffle): two jobs read one dataset, and the first lies after the second once
    it is updated. While another writer holds the first, the bump waits for it before it takes
    the second: in the table's order it would hold the second meanwhile, which that writer may
    want next, and the two would deadlock."""
    import threading
    import time

    from sqlalchemy import text

    from airflow_ol_catalog.store.tables import dataset, job
    from airflow_ol_catalog.store.view_stamps import bump_jobs_using

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    read = [{"namespace": "postgres://db", "name": "shared"}]
    send(catalog_engine, [event("START", f"2025-01-01T10:0{i}:00Z", run_id=f"r{i}", job={"namespace": "team-a", "name": name, "facets": {}}, inputs=read) for i, name in enumerate(("first", "second"))])  # fmt: skip
    with write_transaction(catalog_engine) as conn:
        first, second = conn.execute(select(job.c.id).order_by(job.c.id)).scalars()
        (shared,) = conn.execute(select(dataset.c.id)).scalars()
        conn.execute(text("UPDATE ol_catalog_job SET name = name WHERE id = :id"), {"id": first})
    with read_connection(catalog_engine) as conn:
        assert list(conn.execute(text("SELECT id FROM ol_catalog_job ORDER BY ctid")).scalars()) == [second, first]

    holder, other = catalog_engine.connect(), catalog_engine.connect()
    bumped: list[BaseException | None] = []

    def bump() -> None:
        try:
            with write_transaction(catalog_engine) as conn:
                bump_jobs_using(conn, [shared])
            bumped.append(None)
        except BaseException as exc:  # reported below
            bumped.append(exc)

    try:
        holder.execute(text("SELECT id FROM ol_catalog_job WHERE id = :id FOR UPDATE"), {"id": first})
        bumping = threading.Thread(target=bump)
        bumping.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE ol_catalog_job%'"
        deadline = time.monotonic() + 10
        while not other.execute(text(waiting)).scalar_one() and time.monotonic() < deadline:
            other.rollback()
            time.sleep(0.02)
        other.rollback()
        assert time.monotonic() < deadline, "the bump never waited for the held job"
        # The second job is free: the bump took nothing while it waited for the first.
        assert (
            other.execute(
                text("SELECT id FROM ol_catalog_job WHERE id = :id FOR UPDATE NOWAIT"), {"id": second}
            ).scalar_one()
            == second
        )
        other.rollback()
    finally:
        holder.rollback()
        holder.close()
        other.close()
    bumping.join(10)
    assert bumped == [None]
