"""What a run page shows beyond its state, read from the run's facets as the spec defines them:
its place in a tree of runs (`parent`, and `root` of ParentRunFacet 1-1-0), the tests it executed
(TestRunFacet), lineage its producer could not extract (ExtractionErrorRunFacet), its parameters
(ExecutionParametersRunFacet), its engine, and the Airflow task instance behind it.

The events are built here from the facets' schemas, as the spec's own examples describe them."""

from __future__ import annotations

from urllib.parse import quote

from test_events import run_event

SPEC = "https://openlineage.io/spec/facets/"
AF = "airflow://production"
SPARK = "spark://cluster"
DAG_RUN = "0193b000-0000-7000-8000-000000000001"
TASK_RUN = "0193b000-0000-7000-8000-000000000002"
SPARK_RUN = "0193b000-0000-7000-8000-000000000003"
OTHER_TASK_RUN = "0193b000-0000-7000-8000-000000000004"
SIBLING_RUN = "0193b000-0000-7000-8000-000000000005"  # a run beside the Spark run, under the same task


def facet(schema: str, **fields) -> dict:
    return {"_producer": "https://example.com/tests", "_schemaURL": f"{SPEC}{schema}"} | fields


def ref(run_id: str, namespace: str, name: str) -> dict:
    return {"run": {"runId": run_id}, "job": {"namespace": namespace, "name": name}}


def event(run_id: str, namespace: str, name: str, event_type: str, time: str, **run_facets) -> dict:
    return run_event(
        eventType=event_type,
        eventTime=f"2026-05-04T{time}Z",
        run={"runId": run_id, "facets": run_facets},
        job={"namespace": namespace, "name": name, "facets": {}},
    )


def spark_run_under_a_task_that_sent_nothing() -> dict:
    """A Spark run whose parent, an Airflow task run, sent no events; `root` names the DAG run."""
    parent = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(TASK_RUN, AF, "sales.load"))
    parent["root"] = ref(DAG_RUN, AF, "sales")
    return event(SPARK_RUN, SPARK, "load_orders", "COMPLETE", "06:10:00", parent=parent)


def test_a_run_names_its_parent_and_root_and_its_tree_reaches_the_root_through_missing_levels(catalog_api):
    assert catalog_api.send(event(DAG_RUN, AF, "sales", "START", "06:00:00")).status_code == 201
    other = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(DAG_RUN, AF, "sales"))
    assert (
        catalog_api.send(event(OTHER_TASK_RUN, AF, "sales.check", "START", "06:01:00", parent=other)).status_code == 201
    )
    assert catalog_api.send(spark_run_under_a_task_that_sent_nothing()).status_code == 201
    sibling = spark_run_under_a_task_that_sent_nothing()
    sibling["run"]["runId"], sibling["job"]["name"] = SIBLING_RUN, "load_customers"
    assert catalog_api.send(sibling).status_code == 201

    spark = catalog_api.get(f"api/v1/jobs/runs/{SPARK_RUN}").json()
    assert spark["parent"] == {"runId": TASK_RUN, "job": {"namespace": AF, "name": "sales.load"}}
    assert spark["root"] == {"runId": DAG_RUN, "job": {"namespace": AF, "name": "sales"}}

    tree = catalog_api.get(f"api/v1/jobs/runs/{SPARK_RUN}/tree").json()
    assert (tree["runId"], tree["rootRunId"], tree["rootJob"]["name"], tree["truncated"]) == (
        SPARK_RUN,
        DAG_RUN,
        "sales",
        False,
    )
    parents = {r["runId"]: r["parentRunId"] for r in tree["runs"]}
    # the task run is known from the Spark run's parent facet only; the root facet puts it under the DAG run
    assert parents == {
        DAG_RUN: None,
        OTHER_TASK_RUN: DAG_RUN,
        TASK_RUN: DAG_RUN,
        SPARK_RUN: TASK_RUN,
        SIBLING_RUN: TASK_RUN,
    }
    assert {r["runId"]: r["placeholder"] for r in tree["runs"]}[TASK_RUN] is True
    assert tree["runs"][0]["runId"] == DAG_RUN  # the oldest start first

    # the same tree from the root: every run below it, the Spark run through its parent
    from_root = catalog_api.get(f"api/v1/jobs/runs/{DAG_RUN}/tree").json()
    assert {r["runId"]: r["parentRunId"] for r in from_root["runs"]} == parents

    limited = catalog_api.get(f"api/v1/jobs/runs/{DAG_RUN}/tree", limit=2).json()
    assert (len(limited["runs"]), limited["truncated"]) == (2, True)
    assert catalog_api.get("api/v1/jobs/runs/nobody/tree").status_code == 404
    assert catalog_api.get(f"api/v1/jobs/runs/{DAG_RUN}/tree", limit=0).status_code == 422


def test_a_deep_chain_of_parents_is_walked_to_its_first_run_or_says_it_was_cut(catalog_api):
    """A chain of 120 runs, each the parent of the next: the tree of the deepest reaches the first
    run. Walking up stopped after 50 parents, and the answer said nothing was cut. Within a smaller
    limit the answer holds the run and the parents nearest it, says it was cut, and still names
    the first run as the tree's root."""
    chain = [f"0193b900-0000-7000-8000-{i:012d}" for i in range(120)]
    for i, run_id in enumerate(chain):
        parent = {}
        if i:
            up = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(chain[i - 1], AF, f"chain.{i - 1}"))
            parent = {"parent": up}
        sent = event(run_id, AF, f"chain.{i}", "START", f"07:{i // 60:02d}:{i % 60:02d}", **parent)
        assert catalog_api.send(sent).status_code == 201
    whole = catalog_api.get(f"api/v1/jobs/runs/{chain[-1]}/tree", limit=1000).json()
    assert (whole["rootRunId"], whole["rootJob"]["name"], whole["truncated"]) == (chain[0], "chain.0", False)
    assert [r["runId"] for r in whole["runs"]] == chain  # by start: the first run first
    cut = catalog_api.get(f"api/v1/jobs/runs/{chain[-1]}/tree", limit=30).json()
    assert cut["truncated"] is True and [r["runId"] for r in cut["runs"]] == chain[-30:]
    assert (cut["rootRunId"], cut["rootJob"]["name"]) == (chain[0], "chain.0")
    one = catalog_api.get(f"api/v1/jobs/runs/{chain[2]}/tree", limit=1).json()
    assert (one["rootRunId"], one["truncated"], [r["runId"] for r in one["runs"]]) == (chain[0], True, [chain[2]])


def test_the_root_link_gives_way_to_the_parents_own_parent_facet_in_either_order(catalog_api):
    """A task run's own parent facet is the truth; the root its child names only fills the gap."""
    for prefix, task_first in (("0193b100", False), ("0193b200", True)):
        dag_run, task_run, spark_run, other_dag_run = (f"{prefix}-0000-7000-8000-00000000000{i}" for i in range(1, 5))
        own = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(other_dag_run, AF, "nightly"))
        task_event = event(task_run, AF, "nightly.load", "START", "07:00:00", parent=own)
        parent = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(task_run, AF, "nightly.load"))
        parent["root"] = ref(dag_run, AF, "nightly")
        spark_event = event(spark_run, SPARK, "nightly_spark", "COMPLETE", "07:05:00", parent=parent)
        for sent in (task_event, spark_event) if task_first else (spark_event, task_event):
            assert catalog_api.send(sent).status_code == 201
        tree = catalog_api.get(f"api/v1/jobs/runs/{spark_run}/tree").json()
        assert {r["runId"]: r["parentRunId"] for r in tree["runs"]}[task_run] == other_dag_run
        # the task's own parent is not the root its child names: the tree shows both, the root above
        assert tree["rootRunId"] == dag_run


def test_a_root_naming_the_run_itself_or_another_namespace_links_nothing(catalog_api):
    run_id, task_run = "0193b300-0000-7000-8000-000000000001", "0193b300-0000-7000-8000-000000000002"
    parent = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(task_run, AF, "x.load"))
    parent["root"] = ref(run_id, SPARK, "self_rooted")  # the run itself: no cycle
    assert (
        catalog_api.send(event(run_id, SPARK, "self_rooted", "COMPLETE", "08:00:00", parent=parent)).status_code == 201
    )
    tree = catalog_api.get(f"api/v1/jobs/runs/{run_id}/tree").json()
    assert {r["runId"]: r["parentRunId"] for r in tree["runs"]} == {task_run: None, run_id: task_run}
    assert catalog_api.get(f"api/v1/jobs/runs/{run_id}").json()["root"]["runId"] == run_id


def test_a_run_shows_its_tests_parameters_engine_and_the_lineage_its_producer_missed(catalog_api):
    run_id = "0193b400-0000-7000-8000-000000000001"
    tests = [
        {"name": "assert_no_orphans", "status": "fail", "severity": "warn", "type": "custom_sql"}
        | {"expected": "0", "actual": "3", "content": "SELECT * FROM orders WHERE customer_id IS NULL"}
        | {"contentType": "sql", "params": {"column": "customer_id"}},
        {"name": "unique_order_id", "status": "pass", "severity": "error"},
    ]
    missed = {
        "totalTasks": 2,
        "failedTasks": 1,
        "errors": [
            {"errorMessage": "Expected TABLE after DROP, found: POLICY", "task": "DROP POLICY p ON t", "taskNumber": 0}
        ],
    }
    parameters = [
        {"key": "ds", "name": "Logical date", "value": "2026-05-04"},
        {"key": "retries", "value": "3", "description": "as configured"},
        {"key": "pool"},
    ]
    sent = event(
        run_id,
        AF,
        "dbt.orders",
        "COMPLETE",
        "09:00:00",
        test=facet("1-0-1/TestRunFacet.json#/$defs/TestRunFacet", tests=tests),
        extractionError=facet("1-1-2/ExtractionErrorRunFacet.json#/$defs/ExtractionErrorRunFacet", **missed),
        executionParameters=facet(
            "1-0-0/ExecutionParametersRunFacet.json#/$defs/ExecutionParametersRunFacet", parameters=parameters
        ),
        processing_engine=facet(
            "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
            version="1.9.2",
            name="dbt",
            openlineageAdapterVersion="1.54.0",
        ),
    )
    assert catalog_api.send(sent).status_code == 201
    shown = catalog_api.get(f"api/v1/jobs/runs/{run_id}").json()
    assert [(t["name"], t["status"], t["severity"]) for t in shown["tests"]] == [
        ("assert_no_orphans", "fail", "warn"),
        ("unique_order_id", "pass", "error"),
    ]
    assert shown["tests"][0] | {} == tests[0] | {"description": None}
    assert shown["extractionError"] == missed | {
        "errors": [missed["errors"][0] | {"stackTrace": None}],
    }
    assert shown["parameters"] == [
        {"key": "ds", "name": "Logical date", "value": "2026-05-04", "description": None},
        {"key": "retries", "name": None, "value": "3", "description": "as configured"},
        {"key": "pool", "name": None, "value": None, "description": None},
    ]
    assert shown["engine"] == {"name": "dbt", "version": "1.9.2", "openlineageAdapterVersion": "1.54.0"}
    assert (shown["parent"], shown["root"], shown["airflow"]) == (None, None, None)

    # a test without its required name breaks the facet's schema: reported, kept raw, not half-read
    broken = [*tests, {"status": "pass"}]
    other = run_id[:-1] + "2"
    again = event(other, AF, "dbt.orders", "COMPLETE", "09:30:00", test=facet("1-0-1/TestRunFacet.json", tests=broken))
    receipt = catalog_api.send(again).json()
    assert [w["path"] for w in receipt["warnings"]] == ["run.facets.test.tests[2].name"]
    assert catalog_api.get(f"api/v1/jobs/runs/{other}").json()["tests"] == []


def test_a_run_names_the_airflow_task_instance_or_dag_run_behind_it(catalog_api):
    task_run, dag_run = "0193b500-0000-7000-8000-000000000001", "0193b500-0000-7000-8000-000000000002"
    airflow = {
        "dag": {"dag_id": "sales"},
        "dagRun": {"dag_id": "sales", "run_id": "scheduled__2026-05-04T00:00:00+00:00", "run_type": "scheduled"},
        "task": {"task_id": "load", "operator_class": "SQLExecuteQueryOperator"},
        "taskInstance": {
            "try_number": 2,
            "map_index": 3,
            "log_url": "https://airflow.example/dags/sales/runs/scheduled__2026-05-04T00%3A00%3A00%2B00%3A00/tasks/load?try_number=2",
        },
    }
    assert (
        catalog_api.send(
            event(task_run, AF, "sales.load", "START", "10:00:00", airflow=facet("x", **airflow))
        ).status_code
        == 201
    )
    dag_facet = facet("x", dag={"dag_id": "sales"}, dagRun={"run_id": "manual__1"})
    assert (
        catalog_api.send(event(dag_run, AF, "sales", "START", "10:00:00", airflowDagRun=dag_facet)).status_code == 201
    )
    assert catalog_api.get(f"api/v1/jobs/runs/{task_run}").json()["airflow"] == {
        "dagId": "sales",
        "dagRunId": "scheduled__2026-05-04T00:00:00+00:00",
        "taskId": "load",
        "mapIndex": 3,
        "tryNumber": 2,
        "operator": "SQLExecuteQueryOperator",
        "runType": "scheduled",
        "logUrl": airflow["taskInstance"]["log_url"],
    }
    assert catalog_api.get(f"api/v1/jobs/runs/{dag_run}").json()["airflow"] == {
        "dagId": "sales",
        "dagRunId": "manual__1",
        "taskId": None,
        "mapIndex": -1,
        "tryNumber": None,
        "operator": None,
        "runType": None,
        "logUrl": None,
    }
    # a log address that is no web address is not passed on as a link
    scripted = airflow | {"taskInstance": {"try_number": 1, "log_url": "javascript:alert(1)"}}
    third = "0193b500-0000-7000-8000-000000000003"
    assert (
        catalog_api.send(
            event(third, AF, "sales.load", "START", "11:00:00", airflow=facet("x", **scripted))
        ).status_code
        == 201
    )
    assert catalog_api.get(f"api/v1/jobs/runs/{third}").json()["airflow"]["logUrl"] is None


def test_the_overview_counts_failing_datasets_and_runs_with_failed_tests(catalog_api):
    from datetime import datetime, timedelta, timezone

    recent = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = catalog_api.get("api/v1/stats").json()["tests"]

    def assertions(*results: bool) -> dict:
        listed = [{"assertion": "not_null", "column": f"c{i}", "success": ok} for i, ok in enumerate(results)]
        return facet("1-1-0/DataQualityAssertionsDatasetFacet.json", assertions=listed)

    wh = "postgres://warehouse:5432"
    for n, (results, statuses) in enumerate((((True, False, False), ("pass", "fail")), ((True,), ("pass",)))):
        tests = [{"name": f"t{i}", "status": s} for i, s in enumerate(statuses)]
        sent = event(f"0193b600-0000-7000-8000-00000000000{n}", AF, f"dbt.test_{n}", "COMPLETE", "11:00:00")
        sent["eventTime"] = recent
        sent["run"]["facets"]["test"] = facet("1-0-1/TestRunFacet.json", tests=tests)
        sent["inputs"] = [
            {"namespace": wh, "name": f"shop.t{n}", "inputFacets": {"dataQualityAssertions": assertions(*results)}}
        ]
        assert catalog_api.send(sent).status_code == 201

    tests = catalog_api.get("api/v1/stats").json()["tests"]
    assert tests["datasetsTested"] - before["datasetsTested"] == 2
    assert tests["datasetsFailing"] - before["datasetsFailing"] == 1
    assert tests["failedTests"] - before["failedTests"] == 2
    assert tests["failingDatasets"][0] == {
        "namespace": wh,
        "name": "shop.t0",
        "passed": 1,
        "failed": 2,
        "unknown": 0,
        "checkedAt": recent,
    }
    assert (tests["runsTested"] - before["runsTested"], tests["runsFailing"] - before["runsFailing"]) == (2, 1)
    assert tests["failingRuns"][0] == {
        "runId": "0193b600-0000-7000-8000-000000000000",
        "job": {"namespace": AF, "name": "dbt.test_0"},
        "failed": 1,
        "tests": 2,
        "eventTime": recent,
    }


def _snapshot_event(run_id: str, job_name: str, mode: str, time: str, inputs: list[str], outputs: list[str]) -> dict:
    job_type = facet(
        "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
        processingType="STREAMING",
        integration="FLINK",
        jobType="JOB",
        emissionPattern={"eventTrigger": "PERIODIC", "eventContentMode": mode, "windowDuration": 300},
    )
    sent = event(run_id, AF, job_name, "RUNNING", time)
    sent["job"]["facets"]["jobType"] = job_type
    sent["inputs"] = [{"namespace": "kafka://broker:9092", "name": n} for n in inputs]
    sent["outputs"] = [{"namespace": "kafka://broker:9092", "name": n} for n in outputs]
    return sent


def test_a_complete_snapshot_replaces_the_runs_inputs_and_outputs_in_whatever_order_it_comes(catalog_api):
    """emissionPattern COMPLETE_SNAPSHOT: each event holds all of the run's inputs and outputs, so
    the newest event's are the run's (and the job's); ACCUMULATIVE events add up."""
    for mode, run_id in (
        ("COMPLETE_SNAPSHOT", "0193b700-0000-7000-8000-000000000001"),
        ("ACCUMULATIVE", "0193b700-0000-7000-8000-000000000002"),
    ):
        name = f"stream.{mode.lower()}"
        newer = _snapshot_event(run_id, name, mode, "12:05:00", ["orders"], ["totals", "alerts"])
        older = _snapshot_event(run_id, name, mode, "12:00:00", ["orders", "payments"], ["totals"])
        for sent in (newer, older):  # the older snapshot comes last
            assert catalog_api.send(sent).status_code == 201
        run = catalog_api.get(f"api/v1/jobs/runs/{run_id}").json()
        job = catalog_api.get(f"api/v1/namespaces/{quote(AF, safe='')}/jobs/{name}").json()
        assert job["emissionPattern"] == {"eventTrigger": "PERIODIC", "eventContentMode": mode, "windowDuration": 300}
        shown = ([d["name"] for d in run["inputs"]], [d["name"] for d in run["outputs"]])
        if mode == "COMPLETE_SNAPSHOT":
            assert shown == (["orders"], ["alerts", "totals"])
        else:
            assert shown == (["orders", "payments"], ["alerts", "totals"])
        assert ([d["name"] for d in job["inputs"]], [d["name"] for d in job["outputs"]]) == shown
        # the job's one version is of the run's inputs and outputs as shown
        versions = catalog_api.get(f"api/v1/namespaces/{quote(AF, safe='')}/jobs/{name}/versions").json()["versions"]
        assert [([d["name"] for d in v["inputs"]], [d["name"] for d in v["outputs"]]) for v in versions] == [shown]
        assert (
            versions[0]["version"] == run["jobVersion"]["version"] == versions[0]["latestRun"]["jobVersion"]["version"]
        )


def test_a_parent_facet_forwarding_its_runs_facets_links_the_same_tree(catalog_api):
    """ParentRunFacet 1-2-0 may forward a few facets of the parent and root runs and jobs; the
    links are the same, and no warning is raised for them."""
    task_run, dag_run, own = (f"0193b800-0000-7000-8000-00000000000{i}" for i in range(1, 4))
    engine = facet("1-1-1/ProcessingEngineRunFacet.json", version="3.1.0", name="Airflow")
    dag_type = facet("2-0-3/JobTypeJobFacet.json", processingType="BATCH", integration="AIRFLOW", jobType="DAG")
    parent = facet("1-2-0/ParentRunFacet.json", **ref(task_run, AF, "forward.task"))
    parent["run"]["facets"] = {"processing_engine": engine}
    parent["root"] = ref(dag_run, AF, "forward") | {
        "job": {"namespace": AF, "name": "forward", "facets": {"jobType": dag_type}}
    }
    receipt = catalog_api.send(event(own, SPARK, "forwarded", "COMPLETE", "13:00:00", parent=parent)).json()
    assert receipt.get("warnings", []) == []
    tree = catalog_api.get(f"api/v1/jobs/runs/{own}/tree").json()
    assert {r["runId"]: r["parentRunId"] for r in tree["runs"]} == {dag_run: None, task_run: dag_run, own: task_run}


def test_a_dataset_lists_the_runs_that_tested_it_newest_first(catalog_api):
    wh = "postgres://warehouse:5432"
    for n, status in enumerate(("pass", "fail")):
        sent = event(f"0193b900-0000-7000-8000-00000000000{n}", AF, "dbt.test.orders", "COMPLETE", f"14:0{n}:00")
        tests = [{"name": "assert_positive_total", "status": status, "severity": "warn", "type": "custom_sql"}]
        sent["run"]["facets"]["test"] = facet("1-0-1/TestRunFacet.json", tests=tests)
        sent["inputs"] = [{"namespace": wh, "name": "shop.orders"}]
        assert catalog_api.send(sent).status_code == 201
    path = f"api/v1/namespaces/{quote(wh, safe='')}/datasets/shop.orders/test-runs"
    runs = catalog_api.get(path).json()["runs"]
    assert [(r["runId"][-1], r["state"], r["tests"][0]["status"]) for r in runs] == [
        ("1", "COMPLETED", "fail"),
        ("0", "COMPLETED", "pass"),
    ]
    assert runs[0]["job"] == {"namespace": AF, "name": "dbt.test.orders"} and runs[0]["eventTime"].endswith("14:01:00Z")
    assert len(catalog_api.get(path, limit=1).json()["runs"]) == 1
    assert catalog_api.get(f"api/v1/namespaces/{quote(wh, safe='')}/datasets/none/test-runs").status_code == 404


def _child(run_id: str, parent: tuple[str, str], root: tuple[str, str]) -> dict:
    facet_ = facet("1-1-0/ParentRunFacet.json", **ref(parent[0], AF, parent[1]))
    facet_["root"] = ref(root[0], AF, root[1])
    return event(run_id, SPARK, f"child_{run_id[-1]}", "COMPLETE", f"15:0{run_id[-1]}:00", parent=facet_)


def test_roots_named_by_runs_never_make_the_catalog_depend_on_the_order_events_came_in():
    """Two children of one placeholder parent name different roots; two others name each other's
    parent as their root. In any order and any batching the catalog is the same, and no run
    becomes its own ancestor."""
    from itertools import permutations

    from test_projection import _fresh_engine, catalog, send

    p, r1, r2 = (
        ("0193ba00-0000-7000-8000-00000000000a", "p.task"),
        ("0193ba00-0000-7000-8000-00000000000b", "r1"),
        ("0193ba00-0000-7000-8000-00000000000c", "r2"),
    )
    events = [
        _child("0193ba00-0000-7000-8000-000000000001", p, r1),
        _child("0193ba00-0000-7000-8000-000000000002", p, r2),
        _child("0193ba00-0000-7000-8000-000000000003", p, r1),
        _child("0193ba00-0000-7000-8000-000000000004", r1, p),
    ]
    seen = []
    for order in permutations(events):
        for one_by_one in (True, False):
            engine = _fresh_engine()
            send(engine, list(order), one_by_one)
            seen.append(catalog(engine)["runs"])
            engine.dispose()
    assert all(runs == seen[0] for runs in seen)


def test_each_run_sees_the_tree_of_the_root_it_names(catalog_api):
    p, r1, r2 = (
        ("0193bb00-0000-7000-8000-00000000000a", "p.task"),
        ("0193bb00-0000-7000-8000-00000000000b", "r1"),
        ("0193bb00-0000-7000-8000-00000000000c", "r2"),
    )
    c1, c2 = "0193bb00-0000-7000-8000-000000000001", "0193bb00-0000-7000-8000-000000000002"
    for run_id, root in ((r1[0], r1), (r2[0], r2)):
        assert catalog_api.send(event(run_id, AF, root[1], "START", "14:59:00")).status_code == 201
    for sent in (_child(c1, p, r1), _child(c2, p, r2)):
        assert catalog_api.send(sent).status_code == 201
    for me, root in ((c1, r1), (c2, r2)):
        tree = catalog_api.get(f"api/v1/jobs/runs/{me}/tree").json()
        assert (tree["rootRunId"], tree["rootJob"]) == (root[0], {"namespace": AF, "name": root[1]})
        parents = {r["runId"]: r["parentRunId"] for r in tree["runs"]}
        # the placeholder parent hangs under the root this run names; both its children are shown
        assert parents == {root[0]: None, p[0]: root[0], c1: p[0], c2: p[0]}
    assert catalog_api.get(f"api/v1/jobs/runs/{c1}/tree").json()["runs"][-1]["parentJob"] is not None


def test_a_snapshot_run_keeps_a_dataset_it_names_by_an_alias(catalog_api):
    """A snapshot job writes a path that a `symlinks` facet makes an alias of a table: the run still
    wrote that dataset (the table, which holds the lineage)."""
    run_id = "0193bc00-0000-7000-8000-000000000001"
    symlinks = facet(
        "1-0-1/SymlinksDatasetFacet.json",
        identifiers=[{"namespace": "hive://meta:9083", "name": "db.snap_out", "type": "TABLE"}],
    )
    sent = _snapshot_event(run_id, "stream.aliased", "COMPLETE_SNAPSHOT", "16:00:00", ["orders"], [])
    sent["outputs"] = [{"namespace": "s3://lake", "name": "w/snap_out", "facets": {"symlinks": symlinks}}]
    assert catalog_api.send(sent).status_code == 201
    run = catalog_api.get(f"api/v1/jobs/runs/{run_id}").json()
    assert [(d["namespace"], d["name"]) for d in run["outputs"]] == [("hive://meta:9083", "db.snap_out")]


def test_nominal_times_are_read_as_utc_times_or_none(catalog_api):
    """Marquez's run has nullable times: a nominal time that is no time shows as none (it was
    answered as sent), and one with an offset in UTC. The run's facets keep what was sent."""
    cases = {
        "0193ba00-0000-7000-8000-000000000001": ("yesterday", None),
        "0193ba00-0000-7000-8000-000000000002": ("2026-05-04T08:00:00+02:00", "2026-05-04T06:00:00Z"),
        "0193ba00-0000-7000-8000-000000000003": ("9999-12-31T23:59:59-14:00", None),  # past year 9999 in UTC
    }
    for run_id, (sent, _) in cases.items():
        nominal = facet("1-0-1/NominalTimeRunFacet.json", nominalStartTime=sent)
        assert (
            catalog_api.send(event(run_id, AF, "nominal", "START", "06:00:00", nominalTime=nominal)).status_code == 201
        )
    for run_id, (sent, shown) in cases.items():
        run = catalog_api.get(f"api/v1/jobs/runs/{run_id}").json()
        assert (run["nominalStartTime"], run["facets"]["nominalTime"]["nominalStartTime"]) == (shown, sent)


def test_a_run_known_only_as_a_parent_was_created_when_its_children_first_named_it(catalog_api):
    """Marquez's run always has createdAt and updatedAt (tests/marquez_api_contract.yaml): a parent
    that sent no event of its own takes them from the events of the runs naming it."""
    parent_run = "0193bf00-0000-7000-8000-000000000001"
    up = facet("1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet", **ref(parent_run, AF, "unsent_dag"))
    for i, (time, kind) in enumerate((("09:00:00", "START"), ("09:30:00", "COMPLETE"))):
        child = event(f"0193bf00-0000-7000-8000-00000000001{i}", AF, f"unsent_dag.t{i}", kind, time, parent=up)
        assert catalog_api.send(child).status_code == 201
    placeholder = catalog_api.get(f"api/v1/jobs/runs/{parent_run}").json()
    assert (placeholder["createdAt"], placeholder["updatedAt"]) == ("2026-05-04T09:00:00Z", "2026-05-04T09:30:00Z")
    listed = catalog_api.get(f"api/v1/namespaces/{quote(AF, safe='')}/jobs/unsent_dag/runs").json()["runs"]
    assert [(r["id"], r["createdAt"]) for r in listed] == [(parent_run, "2026-05-04T09:00:00Z")]
