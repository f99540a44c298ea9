"""The read views in Marquez's shapes, in process: tags, lifecycle states, versions, namespaces, search."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise, permutations

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select
from test_projection import send

from airflow_ol_catalog.events.not_found import DatasetVersionNotFound, NamespaceNotFound, SourceNotFound
from airflow_ol_catalog.lineage import catalog
from airflow_ol_catalog.store.engine import read_connection
from airflow_ol_catalog.store.tables import job

PRODUCER = "https://example.com/tests"
FACET = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsFacet.json"}
SCHEMA_URL = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"


def run(
    run_id: str,
    time: str,
    job: str = "load",
    event_type: str = "COMPLETE",
    job_facets: dict | None = None,
    inputs: list | None = None,
    outputs: list | None = None,
) -> dict:
    return {
        "eventTime": time,
        "eventType": event_type,
        "producer": PRODUCER,
        "run": {"runId": run_id},
        "job": {"namespace": "team", "name": job, "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


def with_parent(event: dict, run_id: str, job: str) -> dict:
    """The event, its run a child of run `run_id` of job `job` (namespace "team")."""
    event["run"]["facets"] = {
        "parent": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json",
            "run": {"runId": run_id},
            "job": {"namespace": "team", "name": job},
        }
    }
    return event


def dataset(name: str, **facets) -> dict:
    return {"namespace": "s3://lake", "name": name, "facets": facets}


def schema(*fields: dict) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL, "fields": list(fields)}


def read(engine, work, *args):
    with read_connection(engine) as conn:
        return work(conn, *args)


def test_tags_facets_name_the_tags_of_jobs_datasets_and_fields(catalog_engine):
    tags = {**FACET, "tags": [{"key": "pii", "value": "true"}, {"key": "tier", "value": "gold"}, {"value": "x"}]}
    field = {"name": "email", "type": "string", "tags": [{"key": "pii", "value": "email", "source": "manual"}]}
    orders = dataset("orders", tags=tags, schema=schema(field))
    send(catalog_engine, [run("r1", "2025-01-01T10:00:00Z", job_facets={"tags": tags}, outputs=[orders])])
    assert read(catalog_engine, catalog.get_job, "team", "load")["tags"] == ["pii", "tier:gold"]
    found = read(catalog_engine, catalog.get_dataset, "s3://lake", "orders")
    assert found["tags"] == ["pii", "tier:gold"] and found["fields"][0]["tags"] == ["pii:email"]


def test_lifecycle_state_and_last_modification_by_a_completed_run(catalog_engine):
    change = {**FACET, "lifecycleStateChange": "OVERWRITE"}
    send(
        catalog_engine,
        [
            run("r1", "2025-01-01T10:00:00Z", outputs=[dataset("orders", lifecycleStateChange=change)]),
            run("r2", "2025-01-02T10:00:00Z", event_type="FAIL", outputs=[dataset("orders")]),
        ],
    )
    found = read(catalog_engine, catalog.get_dataset, "s3://lake", "orders")
    assert found["lastLifecycleState"] == "OVERWRITE"
    assert found["lastModifiedAt"] == "2025-01-01T10:00:00Z" and found["updatedAt"] == "2025-01-02T10:00:00Z"


def test_last_modification_follows_the_runs_in_every_order_of_their_events(catalog_engine):
    """A write's end is its run's while the run is COMPLETE: a run that named its output at START
    and completed without it counts, and one whose later FAIL won over its COMPLETE does not,
    whichever of the four events came first (each order writes a table of its own), sent one by
    one, in two transactions split at any point, or in one."""
    cases = [(order, split) for order in permutations(range(4)) for split in range(5)]
    for k, (order, split) in enumerate(cases):
        table = [dataset(f"t{k}")]
        events = [
            run(f"a{k}", "2025-01-01T10:00:00Z", event_type="START", outputs=table),
            run(f"a{k}", "2025-01-01T11:00:00Z"),
            run(f"b{k}", "2025-01-01T12:00:00Z", outputs=table),
            run(f"b{k}", "2025-01-01T12:30:00Z", event_type="FAIL"),
        ]
        sent = [events[i] for i in order]
        if split == 0:
            send(catalog_engine, sent)
        else:
            for part in (sent[:split], sent[split:]):
                if part:
                    send(catalog_engine, part, one_by_one=False)
    for k, case in enumerate(cases):
        found = read(catalog_engine, catalog.get_dataset, "s3://lake", f"t{k}")
        assert found["lastModifiedAt"] == "2025-01-01T11:00:00Z", case


def test_a_datasets_newest_writes_are_read_from_the_index_of_write_ends(catalog_engine):
    """A dataset's view reads the last entries of the index of its writes' ends, not every run
    that wrote it (57-62 ms for a dataset written 100,000 times): the plan names the index and
    sorts no write."""
    send(catalog_engine, [run(f"w{i}", f"2025-01-01T10:{i:02d}:00Z", outputs=[dataset("t")]) for i in range(12)])
    with limited_reads(catalog_engine, "ol_catalog_run_dataset") as statements:
        found = read(catalog_engine, catalog.get_dataset, "s3://lake", "t")
    assert found["lastModifiedAt"] == "2025-01-01T10:11:00Z" and found["writeIntervalSeconds"] == 60
    assert len(statements) == 1
    statement, parameters = statements[0]
    _assert_read_in_index_order(
        catalog_engine, statement, parameters, "ix_ol_catalog_run_dataset_ended", "ol_catalog_run_dataset"
    )


def test_usual_write_interval_is_the_median_of_the_newest_completed_writes(catalog_engine):
    # Hourly writes, one of them late by 3 hours; a failed run and a run writing nothing else do not count.
    hours = [0, 1, 2, 6, 7]
    events = [run(f"r{h}", f"2025-01-01T{h:02d}:00:00Z", outputs=[dataset("hourly")]) for h in hours]
    events.append(run("failed", "2025-01-01T08:00:00Z", event_type="FAIL", outputs=[dataset("hourly")]))
    events += [run("once", "2025-01-01T09:00:00Z", outputs=[dataset("once")])]
    events += [run(f"t{h}", f"2025-01-01T{h:02d}:00:00Z", outputs=[dataset("twice")]) for h in (1, 5)]
    send(catalog_engine, events)
    hourly = read(catalog_engine, catalog.get_dataset, "s3://lake", "hourly")
    assert hourly["lastModifiedAt"] == "2025-01-01T07:00:00Z"
    assert hourly["writeIntervalSeconds"] == 3600  # gaps 1, 1, 4, 1 hours
    # One gap is no usual interval yet, and none without two writes.
    assert read(catalog_engine, catalog.get_dataset, "s3://lake", "twice")["writeIntervalSeconds"] is None
    once = read(catalog_engine, catalog.get_dataset, "s3://lake", "once")
    assert once["lastModifiedAt"] == "2025-01-01T09:00:00Z" and once["writeIntervalSeconds"] is None


def test_usual_write_interval_counts_only_the_newest_writes(catalog_engine):
    # 20 daily writes, then 11 hourly ones: the usual interval is the newest cadence.
    events = [run(f"d{d}", f"2025-01-{d:02d}T00:00:00Z", outputs=[dataset("x")]) for d in range(1, 21)]
    events += [run(f"h{h}", f"2025-01-21T{h:02d}:00:00Z", outputs=[dataset("x")]) for h in range(1, 12)]
    send(catalog_engine, events)
    assert read(catalog_engine, catalog.get_dataset, "s3://lake", "x")["writeIntervalSeconds"] == 3600


def test_schema_changed_at_is_when_the_fields_last_changed(catalog_engine):
    one = schema({"name": "id", "type": "int"})
    two = schema({"name": "id", "type": "int"}, {"name": "email", "type": "string"})
    version = {**FACET, "datasetVersion": "v2"}
    send(
        catalog_engine,
        [
            run("r1", "2025-01-01T10:00:00Z", outputs=[dataset("same", schema=one)]),
            run("r2", "2025-01-02T10:00:00Z", outputs=[dataset("same", schema=one, version=version)]),
            run("r3", "2025-01-01T10:00:00Z", outputs=[dataset("grew", schema=one)]),
            run("r4", "2025-01-03T10:00:00Z", outputs=[dataset("grew", schema=two)]),
            run("r5", "2025-01-04T10:00:00Z", outputs=[dataset("grew", schema=two, version=version)]),
        ],
    )
    # A new version with the same fields (a `version` facet) is no schema change.
    assert read(catalog_engine, catalog.get_dataset, "s3://lake", "same")["schemaChangedAt"] is None
    assert read(catalog_engine, catalog.get_dataset, "s3://lake", "grew")["schemaChangedAt"] == "2025-01-03T10:00:00Z"


def test_a_job_has_a_version_per_set_of_inputs_and_outputs(catalog_engine):
    send(
        catalog_engine,
        [
            run("r0", "2025-01-01T10:00:00.5Z", inputs=[dataset("a")], outputs=[dataset("b")]),
            run("r1", "2025-01-01T10:00:00Z", inputs=[dataset("a")], outputs=[dataset("b")]),
            run("r2", "2025-01-02T10:00:00Z", inputs=[dataset("a")], outputs=[dataset("b")]),
            run("r3", "2025-01-03T10:00:00Z", inputs=[dataset("a"), dataset("c")], outputs=[dataset("b")]),
        ],
    )
    versions = read(catalog_engine, catalog.job_versions, "team", "load")
    assert [[d["name"] for d in v["inputs"]] for v in versions] == [["a", "c"], ["a"]]
    assert [v["latestRun"]["id"] for v in versions] == ["r3", "r2"]
    # its first run's start: a whole second before a half, as times (texts sort '.' before 'Z')
    assert (versions[1]["createdAt"], versions[0]["createdAt"]) == ("2025-01-01T10:00:00Z", "2025-01-03T10:00:00Z")
    job = read(catalog_engine, catalog.get_job, "team", "load")
    assert job["currentVersion"] == versions[0]["version"] != versions[1]["version"]
    assert [r["id"] for r in job["latestRuns"]] == ["r3", "r2", "r0", "r1"]

    from sqlalchemy import select

    from airflow_ol_catalog.store.tables import job as job_table

    with read_connection(catalog_engine) as conn:
        (lean,) = catalog.jobs_view(conn, conn.execute(select(job_table)).all(), runs=1)
    assert [r["id"] for r in lean["latestRuns"]] == ["r3"] and lean["latestRun"]["id"] == "r3"


def test_a_run_names_the_schema_versions_it_read_and_wrote(catalog_engine):
    one, two = schema({"name": "id", "type": "int"}), schema({"name": "id", "type": "bigint"})
    send(
        catalog_engine,
        [
            run("w1", "2025-01-01T10:00:00Z", job="write", outputs=[dataset("t", schema=one)]),
            run("r1", "2025-01-01T11:00:00Z", job="read", inputs=[dataset("t")]),
            run("w2", "2025-01-01T12:00:00Z", job="write", outputs=[dataset("t", schema=two)]),
        ],
    )
    versions, total = read(catalog_engine, catalog.dataset_versions, "s3://lake", "t", 10, 0)
    newer, older = versions
    assert total == 2 and newer["createdByRun"]["id"] == "w2" and older["createdByRun"]["id"] == "w1"
    reader = read(catalog_engine, catalog.get_run, "r1")
    assert [v["datasetVersionId"]["version"] for v in reader["inputDatasetVersions"]] == [older["version"]]
    writer = read(catalog_engine, catalog.get_run, "w2")
    assert [v["datasetVersionId"]["version"] for v in writer["outputDatasetVersions"]] == [newer["version"]]


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_a_schema_stated_again_is_the_version_the_dataset_and_the_run_name(catalog_engine, order):
    """A column added, then dropped: the third write states the first schema again. It is that
    version once more, and the dataset's current version and the third run's written version are it
    (both named the second version before); a run reading in between read the second. In any
    order of arrival."""
    narrow, wide = schema({"name": "id", "type": "int"}), schema({"name": "id", "type": "int"}, {"name": "x"})
    events = [
        run("w1", "2025-01-01T10:00:00Z", job="write", outputs=[dataset("t", schema=narrow)]),
        run("w2", "2025-01-01T11:00:00Z", job="write", outputs=[dataset("t", schema=wide)]),
        run("r1", "2025-01-01T11:30:00Z", job="read", inputs=[dataset("t")]),
        run("w3", "2025-01-01T12:00:00Z", job="write", outputs=[dataset("t", schema=narrow)]),
    ]
    send(catalog_engine, [events[i] for i in order])
    versions, total = read(catalog_engine, catalog.dataset_versions, "s3://lake", "t", 10, 0)
    by_fields = {tuple(f["name"] for f in v["fields"]): v["version"] for v in versions}
    assert total == 2 and set(by_fields) == {("id",), ("id", "x")}
    found = read(catalog_engine, catalog.get_dataset, "s3://lake", "t")
    assert [f["name"] for f in found["fields"]] == ["id"] and found["currentVersion"] == by_fields[("id",)]

    def written(run_id: str, side: str) -> list[str]:
        return [v["datasetVersionId"]["version"] for v in read(catalog_engine, catalog.get_run, run_id)[side]]

    assert written("w3", "outputDatasetVersions") == [by_fields[("id",)]]
    assert written("w2", "outputDatasetVersions") == [by_fields[("id", "x")]]
    assert written("r1", "inputDatasetVersions") == [by_fields[("id", "x")]]


def test_a_dataset_version_is_found_by_its_uuid_digest_or_the_producers_version(catalog_engine):
    version = {**FACET, "datasetVersion": "v42"}
    send(catalog_engine, [run("r1", "2025-01-01T10:00:00Z", outputs=[dataset("t", version=version)])])
    (found,), _ = read(catalog_engine, catalog.dataset_versions, "s3://lake", "t", 10, 0)
    assert found["datasetVersion"] == "v42" and len(found["version"]) == 36
    for key in (found["version"], "v42"):
        assert read(catalog_engine, catalog.get_dataset_version, "s3://lake", "t", key)["version"] == found["version"]
    with pytest.raises(DatasetVersionNotFound, match="'v41' of dataset s3://lake:t"):
        read(catalog_engine, catalog.get_dataset_version, "s3://lake", "t", "v41")


def test_jobs_by_the_state_of_their_newest_run(catalog_engine):
    send(
        catalog_engine,
        [
            run("r1", "2025-01-01T10:00:00Z", job="flaky", event_type="FAIL"),
            run("r2", "2025-01-02T10:00:00Z", job="flaky"),
            run("r3", "2025-01-01T10:00:00Z", job="broken", event_type="FAIL"),
            run("r4", "2025-01-01T10:00:00Z", job="busy", event_type="START"),
        ],
    )

    def names(*states):
        return sorted(j["name"] for j in read(catalog_engine, catalog.list_jobs, "team", 100, 0, list(states))[0])

    assert names("FAILED") == ["broken"]
    assert names("COMPLETED", "RUNNING") == ["busy", "flaky"]
    assert names("NEW") == []


def test_a_jobs_newest_runs_are_by_start_then_run_id_and_at_most_the_count(catalog_engine):
    """A run without START is placed by its first event; runs started at one time by run id."""
    send(
        catalog_engine,
        [
            run("r-a", "2025-01-01T10:00:00Z", event_type="START"),
            run("r-b", "2025-01-01T10:00:00Z", event_type="START"),
            run("r-c", "2025-01-01T11:00:00Z"),  # its COMPLETE only
            run("r-d", "2025-01-01T09:00:00Z", event_type="START"),
            run("r-a", "2025-01-01T12:00:00Z"),  # ends last: the order is by start
        ],
    )
    with read_connection(catalog_engine) as conn:
        job_id = conn.execute(select(job.c.id).where(job.c.name == "load")).scalar_one()
        assert [r.run_id for r in catalog.newest_run_rows(conn, [job_id], 3)] == ["r-c", "r-b", "r-a"]
        assert [r["id"] for r in catalog.latest_runs(conn, [job_id], 10)[job_id]] == ["r-c", "r-b", "r-a", "r-d"]
        assert catalog.newest_run_rows(conn, [job_id], 0) == catalog.newest_run_rows(conn, [job_id], -1) == []


def test_newest_runs_are_read_from_the_index_of_runs_newest_first(catalog_engine):
    """A job's latest runs, and the jobs filtered by the state of their newest run, read the first
    entries of the index that orders each job's runs as they are shown: not every run of the job
    (53 ms on PostgreSQL, 92 on SQLite, for a job of 100,000 runs). The plans name the index."""
    send(catalog_engine, [run(f"r{i}", f"2025-01-01T10:{i:02d}:00Z", job=f"job-{i % 3}") for i in range(12)])
    with limited_reads(catalog_engine, "ol_catalog_run") as statements, read_connection(catalog_engine) as conn:
        ids = list(conn.execute(select(job.c.id)).scalars())
        assert len(catalog.newest_run_rows(conn, ids, 2)) == 6
        assert len(catalog.list_jobs(conn, "team", 100, 0, ["COMPLETED"])[0]) == 3
    assert len(statements) >= 2
    for statement, parameters in statements:
        _assert_read_in_index_order(catalog_engine, statement, parameters, "ix_ol_catalog_run_newest", "ol_catalog_run")


def test_a_jobs_runs_by_state_or_end_list_runs_alike_in_it_newest_first(catalog_engine):
    """Sorted by state (either way) or by end, runs in the same state, or not ended, come newest
    first: not in the order of their run ids."""
    starts = {"z-old": "2025-01-01T08:00:00Z", "a-mid": "2025-01-02T08:00:00Z", "m-new": "2025-01-03T08:00:00Z"}
    send(catalog_engine, [run(r, t, job="sorted") for r, t in starts.items()])
    send(catalog_engine, [run("k-open", "2025-01-04T08:00:00Z", job="sorted", event_type="START")])
    send(catalog_engine, [run("b-open", "2025-01-05T08:00:00Z", job="sorted", event_type="START")])
    for descending in (True, False):
        runs, _ = read(catalog_engine, catalog.list_runs, "team", "sorted", 100, 0, "state", descending)
        ids = [r["id"] for r in runs]
        assert [i for i in ids if i in starts] == ["m-new", "a-mid", "z-old"], (descending, ids)
        assert [i for i in ids if i not in starts] == ["b-open", "k-open"], (descending, ids)
    runs, _ = read(catalog_engine, catalog.list_runs, "team", "sorted", 100, 0, "endedAt", True)
    assert [r["id"] for r in runs][-2:] == ["b-open", "k-open"] or [r["id"] for r in runs][:2] == ["b-open", "k-open"]


def test_a_jobs_runs_by_start_come_from_its_index_and_runs_known_only_as_parents_come_last(catalog_engine):
    """A job's runs list, by start either way: the runs with a time in that order (a run without
    START placed by its first event), then the runs known only as its children's parents, which
    have none, by run id; the same on both backends, and pages of one give the same list."""
    send(
        catalog_engine,
        [
            run("b", "2025-01-01T10:00:00Z", job="nightly", event_type="START"),
            run("a", "2025-01-01T11:00:00Z", job="nightly"),  # its COMPLETE only
            run("c", "2025-01-01T09:00:00Z", job="nightly", event_type="START"),
            with_parent(run("t1", "2025-01-01T12:00:00Z", job="nightly.task"), "p-2", "nightly"),
            with_parent(run("t2", "2025-01-01T12:00:00Z", job="nightly.task"), "p-1", "nightly"),
        ],
    )
    newest = ["a", "b", "c", "p-2", "p-1"]
    oldest = ["c", "b", "a", "p-1", "p-2"]
    for descending, expected in ((True, newest), (False, oldest)):
        runs, total = read(catalog_engine, catalog.list_runs, "team", "nightly", 100, 0, "startedAt", descending)
        assert ([r["id"] for r in runs], total) == (expected, 5)
        pages = [
            read(catalog_engine, catalog.list_runs, "team", "nightly", 1, offset, "startedAt", descending)[0]
            for offset in range(6)
        ]
        assert [r["id"] for page in pages for r in page] == expected
        two = [
            read(catalog_engine, catalog.list_runs, "team", "nightly", 2, o, "startedAt", descending)[0] for o in (1, 3)
        ]
        assert [r["id"] for page in two for r in page] == expected[1:5]
    with limited_reads(catalog_engine, "ol_catalog_run") as statements, read_connection(catalog_engine) as conn:
        catalog.list_runs(conn, "team", "nightly", 2, 0)
    (statement, parameters), *_ = statements
    _assert_read_in_index_order(catalog_engine, statement, parameters, "ix_ol_catalog_run_newest", "ol_catalog_run")


def test_every_jobs_runs_are_listed_newest_first_without_placeholders_or_hidden_jobs(catalog_engine):
    """The list of all runs orders them as a job's own list does, across jobs: by start (or first
    event), run id, then the row, so two jobs' runs of one id and start keep one order from page to
    page. Parents known only by their children, and the runs of hidden jobs, are not listed."""
    from airflow_ol_catalog.ingest.hiding import set_job_hidden
    from airflow_ol_catalog.store.engine import write_transaction

    child = with_parent(run("c", "2025-01-01T08:00:00Z", job="child"), "only-named", "parent")
    send(
        catalog_engine,
        [
            run("same", "2025-01-01T10:00:00Z", job="a", event_type="START"),
            run("same", "2025-01-01T10:00:00Z", job="b", event_type="START"),
            run("late", "2025-01-01T11:00:00Z", job="a", event_type="FAIL"),  # its FAIL only
            run("early", "2025-01-01T09:00:00Z", job="b", event_type="START"),
            run("early", "2025-01-01T12:00:00Z", job="b"),  # ends last: the order is by start
            run("gone", "2025-01-01T13:00:00Z", job="hidden"),
            child,
            run("busy", "2025-01-01T07:00:00Z", job="c", event_type="RUNNING"),  # RUNNING, as a START leaves it
        ],
    )
    with write_transaction(catalog_engine) as conn:
        set_job_hidden(conn, "team", "hidden", True)
    every, total = read(catalog_engine, catalog.runs_in_state, None, 100, 0)
    listed = [(r["jobVersion"]["name"], r["id"]) for r in every]
    # the two runs "same" of jobs a and b: the one stored last (b's) first, on every page
    assert listed == [("a", "late"), ("b", "same"), ("a", "same"), ("b", "early"), ("child", "c"), ("c", "busy")]
    assert total == 6
    pages = [read(catalog_engine, catalog.runs_in_state, None, 1, offset)[0][0]["id"] for offset in range(6)]
    assert pages == [run_id for _, run_id in listed]
    failed, total = read(catalog_engine, catalog.runs_in_state, "FAILED", 100, 0)
    assert ([r["id"] for r in failed], total) == (["late"], 1)
    running, total = read(catalog_engine, catalog.runs_in_state, "RUNNING", 100, 0)
    assert ([r["id"] for r in running], total) == (["same", "same", "busy"], 3)
    # the overview counts the runs these lists hold (the hidden job's COMPLETED run was counted, and
    # of the RUNNING runs only those of one event type)
    assert read(catalog_engine, catalog.stats, 7)["runsByState"] == {"RUNNING": 3, "FAILED": 1, "COMPLETED": 2}


def test_every_jobs_runs_are_read_from_the_index_of_all_runs_newest_first(catalog_engine):
    """A page of the list of all runs, in one state or not, reads the first entries of the index of
    every job's runs newest first: not every run sorted (132 ms at 102,000 runs on SQLite)."""
    send(catalog_engine, [run(f"r{i}", f"2025-01-01T10:{i:02d}:00Z", job=f"job-{i % 3}") for i in range(12)])
    with limited_reads(catalog_engine, "ol_catalog_run") as statements, read_connection(catalog_engine) as conn:
        assert len(catalog.runs_in_state(conn, None, 5, 0)[0]) == 5
        assert len(catalog.runs_in_state(conn, "COMPLETED", 5, 5)[0]) == 5
    assert len(statements) == 2
    for statement, parameters in statements:
        _assert_read_in_index_order(
            catalog_engine, statement, parameters, "ix_ol_catalog_run_all_newest", "ol_catalog_run"
        )
        # the hidden jobs come from their own index, not from every job
        with catalog_engine.connect() as conn:
            if catalog_engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET enable_seqscan = off")
                explain = "EXPLAIN "
            else:
                explain = "EXPLAIN QUERY PLAN "
            plan = str(conn.exec_driver_sql(explain + statement, parameters).all())
        assert "ix_ol_catalog_job_deleted" in plan, plan


@contextmanager
def limited_reads(engine, table: str) -> Iterator[list[tuple[str, object]]]:
    """The statements naming `table` with a LIMIT that the block runs, with their parameters."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if table in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    sqlalchemy_event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", capture)


def _assert_read_in_index_order(engine, statement: str, parameters: object, index: str, table: str) -> None:
    """The statement's plan reads `index` under a LIMIT, in the index's order: no row of `table` sorted."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # A table this small is cheaper to sort: ask for the plan that needs no sort.
            conn.exec_driver_sql("SET enable_sort = off")
            conn.exec_driver_sql("SET enable_seqscan = off")
            lines = [line for (line,) in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
            nodes = [line.strip().removeprefix("->").strip() for line in lines if "(cost=" in line]
            pairs = list(pairwise(nodes))
            # an index scan, forward or backward, with or without the table's rows
            assert any(a.startswith("Limit") and b.startswith("Index") and f" using {index} " in b for a, b in pairs), (
                lines
            )
            assert not any(a.startswith("Sort") and f" on {table} " in b for a, b in pairs), lines
        else:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            searches = [row for row in plan if f"INDEX {index} " in row[3] + " "]  # or COVERING INDEX
            # the per-row subquery searches the index and sorts nothing itself
            assert searches and not any(
                row[1] == search[1] and "TEMP B-TREE" in row[3] for search in searches for row in plan
            ), plan


def test_namespaces_are_those_of_jobs_and_datasets_and_hidden_ones_are_not_listed(catalog_engine):
    send(catalog_engine, [run("r1", "2025-01-01T10:00:00Z", outputs=[dataset("t")])])
    names = [ns["name"] for ns in read(catalog_engine, catalog.list_all_namespaces, 100, 0)[0]]
    assert names == ["s3://lake", "team"]
    lake = read(catalog_engine, catalog.find_namespace, "s3://lake")
    assert (lake["registered"], lake["createdAt"]) == (False, "2025-01-01T10:00:00Z")
    with pytest.raises(NamespaceNotFound):
        read(catalog_engine, catalog.find_namespace, "s3://elsewhere")

    from airflow_ol_catalog.ingest.hiding import set_namespace_hidden
    from airflow_ol_catalog.store.engine import write_transaction

    # a dataset in the job namespace: hiding the namespace keeps the dataset, and still leaves the name out
    send(catalog_engine, [run("r2", "2025-01-02T10:00:00Z", outputs=[{"namespace": "team", "name": "own_table"}])])
    with write_transaction(catalog_engine) as conn:
        set_namespace_hidden(conn, "team", True)
    assert [ns["name"] for ns in read(catalog_engine, catalog.list_all_namespaces, 100, 0)[0]] == ["s3://lake"]
    assert read(catalog_engine, catalog.list_all_namespaces, 100, 0)[1] == 1
    assert read(catalog_engine, catalog.find_namespace, "team")["isHidden"] is True


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, ["orders_new", "orders_old"]),
        ("2025-01-02", None, ["orders_old"]),
        (None, "2025-01-02", ["orders_new"]),
    ],
)
def test_search_bounds_by_last_update_and_namespace(catalog_engine, before, after, expected):
    from datetime import datetime, timezone

    send(
        catalog_engine,
        [
            run("r1", "2025-01-01T10:00:00Z", job="a", outputs=[dataset("orders_old")]),
            run("r2", "2025-01-03T10:00:00Z", job="b", outputs=[dataset("orders_new")]),
        ],
    )
    day = lambda text: datetime.fromisoformat(text).replace(tzinfo=timezone.utc) if text else None  # noqa: E731
    results, _ = read(
        catalog_engine, catalog.search, "orders", None, 10, 0, "name", False, None, day(before), day(after)
    )
    assert sorted(r["name"] for r in results) == expected
    assert read(catalog_engine, catalog.search, "orders", None, 10, 0, "name", False, "team")[0] == []
    assert read(catalog_engine, catalog.search, "lake", None, 10, 0)[0] == []  # namespaces are not matched


def test_column_search_pages_are_the_columns_of_every_schema_read_whole(catalog_engine):
    """Column search counts each schema's matches from its search key and reads whole only the
    schemas its page shows: every page, sort and direction, put together, is every matching column
    of every schema read whole, in order (by dataset as the sort asks, then by name), and the total
    counts them all. Look-alike, duplicated and invisible names, and schemas of none, included."""
    from airflow_ol_catalog.events.naming import fold

    schemas = {  # dataset: (namespace, day of its newest write, field names)
        "alpha": ("s3://lake", 3, ["id", "Customer_ID", "amount", "id"]),
        "beta": ("s3://lake", 1, ["ID\u200b", "name", "x"]),
        "gamma": ("gs://other", 2, ["\u200b", "identity"]),
        "delta": ("s3://lake", 4, []),
        "zeta": ("s3://lake", 5, ["\u200b"]),
        "omega": ("s3://lake", 2, ["cust\u00f6mer_id", "idx", "t", "id_of_id"]),
    }
    events = []
    for number, (name, (namespace, day, fields)) in enumerate(schemas.items()):
        written = {
            **dataset(name, schema=schema(*({"name": f, "type": "string"} for f in fields))),
            "namespace": namespace,
        }
        events.append(run(f"r{number}", f"2025-01-0{day}T10:00:00Z", job=f"j{number}", outputs=[written]))
    send(catalog_engine, events)
    order = {
        "name": lambda ds, ns, day, f: (ds, ns, f),
        "namespace": lambda ds, ns, day, f: (ns, ds, f),
        "updatedAt": lambda ds, ns, day, f: (day, ds, ns, f),
    }
    for q in ("id", "ID", "I", "", "\u200b", "cust", "custo\u0308mer", "zzz"):
        folded = fold(q)
        for sort, key in order.items():
            for descending in (False, True):
                expected = sorted(
                    (
                        (key(name, namespace, day, field), name, field)
                        for name, (namespace, day, fields) in schemas.items()
                        for field in fields
                        if (folded in fold(field) if folded else q in field)
                    ),
                    reverse=descending,
                )
                pages, totals = [], set()
                for offset in range(0, len(expected) + 3, 3):
                    found, total = read(
                        catalog_engine, catalog.search, q, "field", 3, offset, sort, descending, None, None, None
                    )
                    pages += [(r["dataset"], r["field"]) for r in found]
                    totals.add(total)
                assert pages == [(name, field) for _, name, field in expected], (q, sort, descending)
                assert totals == {len(expected)}, (q, sort, descending)
    everything, _ = read(catalog_engine, catalog.search, "", "field", 100, 0, "name", False, None, None, None)
    assert {r["nodeId"] for r in everything if r["dataset"] == "gamma"} == {
        "datasetField:gs://other:gamma:\u200b",
        "datasetField:gs://other:gamma:identity",
    }


def test_column_search_leaves_out_a_schema_gone_between_its_two_statements(catalog_engine, monkeypatch):
    """On PostgreSQL each of column search's two statements reads what was committed when it began:
    a dataset made an alias in between (its schema deleted) is left out of the page, not a 500."""
    fields = [{"name": "id", "type": "int"}, {"name": "id\u200b", "type": "int"}]
    send(
        catalog_engine,
        [
            run(f"r{n}", "2025-01-01T10:00:00Z", job=f"j{n}", outputs=[dataset(name, schema=schema(*fields))])
            for n, name in enumerate(("gone", "kept"))
        ],
    )
    read_whole = catalog._schema_fields

    def gone_meanwhile(conn, ids):
        return {i: found for i, found in read_whole(conn, ids).items() if found[0][1] != "gone"}

    monkeypatch.setattr(catalog, "_schema_fields", gone_meanwhile)
    for q in ("id", "\u200b"):  # counted from the keys; read whole for both
        found, _ = read(catalog_engine, catalog.search, q, "field", 10, 0, "name", False, None, None, None)
        assert {r["dataset"] for r in found} == {"kept"}, ascii(q)


def test_sources_are_the_data_source_facets_or_the_namespaces(catalog_engine):
    source = {**FACET, "name": "warehouse", "uri": "postgresql://db:5432/shop"}
    send(
        catalog_engine,
        [run("r1", "2025-01-01T10:00:00Z", outputs=[dataset("t", dataSource=source), dataset("u")])],
    )
    found, total = read(catalog_engine, catalog.list_sources, 100, 0)
    assert total == 2 and [(s["name"], s["type"], s["connectionUrl"]) for s in found] == [
        ("s3://lake", "S3", "s3://lake"),
        ("warehouse", "POSTGRESQL", "postgresql://db:5432/shop"),
    ]
    assert read(catalog_engine, catalog.get_dataset, "s3://lake", "t")["sourceName"] == "warehouse"
    with pytest.raises(SourceNotFound):
        read(catalog_engine, catalog.get_source, "nowhere")


def test_a_job_without_runs_answers_latest_runs_null_as_marquez_does(catalog_engine):
    """A parent job named only by its children's `parent` facets has no run of its own. Marquez
    answers such a job without `latestRuns` (null), and its web UI's dashboard reduces the list
    without a start value: an empty list there crashed the whole page."""
    child = with_parent(
        run("c1", "2025-01-01T10:00:00Z", job="nightly.load"), "01890f0a-0000-7000-8000-0000000000aa", "nightly"
    )
    send(catalog_engine, [child])
    jobs = {j["name"]: j for j in read(catalog_engine, catalog.list_jobs, "team", 100, 0)[0]}
    assert jobs["nightly"]["latestRuns"] is None and jobs["nightly"]["latestRun"] is None
    assert [r["id"] for r in jobs["nightly.load"]["latestRuns"]] == ["c1"]


def test_a_nodes_facets_come_in_one_order_whatever_order_they_were_stored_in(catalog_engine):
    """Facets are read by name, not in the order the database happens to return their rows (on
    PostgreSQL, the order they were first written): a kept lineage view compared with one built
    again (`view_cache_check`) differed in nothing but that order."""
    first = {name: {**FACET, "v": 1} for name in ("alpha", "mid", "zeta")}
    send(catalog_engine, [run("r1", "2025-01-01T10:00:00Z", job_facets=first)])
    # a newer value of the first: PostgreSQL writes its row anew, after the others
    send(catalog_engine, [run("r2", "2025-01-01T11:00:00Z", job_facets={"alpha": {**FACET, "v": 2}})])
    with read_connection(catalog_engine) as conn:
        (job_id,) = conn.execute(select(job.c.id).where(job.c.name == "load")).scalars()
        if conn.dialect.name == "postgresql":  # rows in the table's order, as a bitmap scan of a big catalog reads them
            for plan in ("indexscan", "indexonlyscan", "bitmapscan"):
                conn.exec_driver_sql(f"SET LOCAL enable_{plan} = off")
        facets = catalog.facets_of(conn, "job", [job_id])[job_id]
    assert list(facets) == ["alpha", "mid", "zeta"] and facets["alpha"]["v"] == 2
