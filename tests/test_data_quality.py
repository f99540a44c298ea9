"""Data quality on datasets: the newest `dataQualityAssertions` (dbt-ol's and Great Expectations'
test results) and `dataQualityMetrics` facets, with the run that sent them, in process on both
backends and through the API's declared model."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter
from test_projection import send

from airflow_ol_catalog.api.datamodels.marquez import Dataset
from airflow_ol_catalog.events.quality import read_assertions, read_metrics, summarise
from airflow_ol_catalog.lineage import catalog
from airflow_ol_catalog.store.engine import read_connection

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/dbt"
DQ_URL = "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json"
WAREHOUSE = "postgres://warehouse:5432"
ORDERS = "analytics.public.orders"


def assertion(kind: str, success, column: str | None = None, **more) -> dict:
    found = {"assertion": kind, "success": success, **more}
    if column is not None:
        found["column"] = column
    return found


def dbt_test_run(run_id: str, day: str, assertions, dataset: str = ORDERS) -> list[dict]:
    """What dbt-ol sends for `dbt test` on one model: a TEST job whose run reads the model's table,
    the assertions both among the input's facets and its inputFacets; FAIL when a test failed."""
    facet = {"_producer": PRODUCER, "_schemaURL": DQ_URL, "assertions": assertions}
    failed = isinstance(assertions, list) and any(isinstance(a, dict) and a.get("success") is False for a in assertions)
    job = {
        "namespace": "dbt",
        "name": f"{dataset}.test",
        "facets": {"jobType": {"jobType": "TEST", "integration": "DBT", "processingType": "BATCH"}},
    }
    table = {
        "namespace": WAREHOUSE,
        "name": dataset,
        "facets": {
            "dataQualityAssertions": facet,
            "schema": {"fields": [{"name": "id", "type": "integer"}, {"name": "status", "type": "text"}]},
        },
        "inputFacets": {"dataQualityAssertions": facet},
    }
    return [
        {
            "eventTime": f"{day}T10:0{i}:00Z",
            "eventType": event_type,
            "producer": PRODUCER,
            "run": {"runId": run_id},
            "job": job,
            "inputs": [table],
            "outputs": [],
        }
        for i, event_type in enumerate(("START", "FAIL" if failed else "COMPLETE"))
    ]


def quality(engine, name: str = ORDERS):
    with read_connection(engine) as conn:
        return catalog.get_dataset(conn, WAREHOUSE, name)["quality"]


RUN_1 = "01890f0a-0000-7000-8000-000000000001"
RUN_2 = "01890f0a-0000-7000-8000-000000000002"
FIRST = [
    assertion("not_null", True, "id", name="not_null_orders_id", severity="error"),
    assertion("unique", True, "id", name="unique_orders_id"),
    assertion("accepted_values", False, "status", name="accepted_values_orders_status", actual="3", expected="0"),
]


def test_a_dbt_test_run_shows_its_assertions_with_the_run_that_checked_them(catalog_engine):
    send(catalog_engine, dbt_test_run(RUN_1, "2025-05-01", FIRST))
    found = quality(catalog_engine)
    assert found["summary"] == {"passed": 2, "failed": 1, "unknown": 0}
    assert found["checkedBy"] == {
        "runId": RUN_1,
        "job": {"namespace": "dbt", "name": f"{ORDERS}.test"},
        "eventTime": "2025-05-01T10:01:00Z",
    }
    status = found["assertions"][2]
    assert status == {
        "assertion": "accepted_values",
        "column": "status",
        "success": False,
        "name": "accepted_values_orders_status",
        "severity": None,
        "expected": "0",
        "actual": "3",
        "runId": RUN_1,
        "eventTime": "2025-05-01T10:01:00Z",
    }
    assert [(a["column"], a["success"]) for a in found["assertions"]] == [("id", True), ("id", True), ("status", False)]
    assert found["problems"] == [] and found["metrics"] is None


def test_a_later_test_run_that_flips_a_result_replaces_the_earlier_results_whatever_the_arrival_order(
    catalog_engine,
):
    flipped = [*FIRST[:2], assertion("accepted_values", True, "status", name="accepted_values_orders_status")]
    send(catalog_engine, dbt_test_run(RUN_2, "2025-05-02", flipped) + dbt_test_run(RUN_1, "2025-05-01", FIRST))
    found = quality(catalog_engine)
    assert found["summary"] == {"passed": 3, "failed": 0, "unknown": 0}
    assert found["checkedBy"]["runId"] == RUN_2 and {a["runId"] for a in found["assertions"]} == {RUN_2}
    send(catalog_engine, dbt_test_run(RUN_1 + "-3", "2025-05-03", FIRST))
    assert quality(catalog_engine)["summary"] == {"passed": 2, "failed": 1, "unknown": 0}


def test_an_assertion_without_a_column_tests_the_whole_dataset(catalog_engine):
    send(catalog_engine, dbt_test_run(RUN_1, "2025-05-01", [assertion("row_count", False), assertion("x", True, "")]))
    found = quality(catalog_engine)
    assert [a["column"] for a in found["assertions"]] == [None, None]
    assert found["summary"] == {"passed": 1, "failed": 1, "unknown": 0}


@pytest.mark.parametrize(
    "assertions, problem",
    [
        ({"not_null": True}, "assertions: expected a list, got dict"),
        ("all good", "assertions: expected a list, got str"),
        (None, "assertions: expected a list, got nothing"),
    ],
)
def test_assertions_that_are_not_a_list_are_a_problem_not_an_error(catalog_engine, assertions, problem):
    send(catalog_engine, dbt_test_run(RUN_1, "2025-05-01", assertions))
    found = quality(catalog_engine)
    assert found["assertions"] == [] and found["problems"] == [problem]
    assert found["summary"] == {"passed": 0, "failed": 0, "unknown": 0} and found["checkedBy"]["runId"] == RUN_1


def test_an_assertion_missing_its_result_is_unknown_and_said_so(catalog_engine):
    sent = [
        {"assertion": "not_null", "column": "id"},
        {"assertion": "unique", "success": "yes"},
        "unique",
        {"success": None},
    ]
    send(catalog_engine, dbt_test_run(RUN_1, "2025-05-01", sent))
    found = quality(catalog_engine)
    assert [(a["assertion"], a["success"]) for a in found["assertions"]] == [
        ("not_null", None),
        ("unique", None),
        ("?", None),
    ]
    assert found["summary"] == {"passed": 0, "failed": 0, "unknown": 3}
    assert found["problems"] == [
        "assertions[0].success: expected true or false, got nothing",
        'assertions[1].success: expected true or false, got "yes"',
        "assertions[2]: expected an object, got str",
        "assertions[3].success: expected true or false, got null",
        "assertions[3].assertion: expected a string",
    ]


def test_metrics_are_the_newest_facet_with_the_run_that_measured_them(catalog_engine):
    metrics = {
        "rowCount": 1200,
        "bytes": 4096,
        "columnMetrics": {"id": {"nullCount": 0, "distinctCount": 1200}, "status": {"nullCount": 7, "min": "x"}},
    }
    events = dbt_test_run(RUN_1, "2025-05-01", FIRST)
    events[1]["inputs"][0]["inputFacets"]["dataQualityMetrics"] = metrics
    send(catalog_engine, events)
    found = quality(catalog_engine)["metrics"]
    assert found == {
        "rowCount": 1200,
        "bytes": 4096,
        "fileCount": None,
        "lastUpdated": None,
        "columnMetrics": {"id": {"nullCount": 0, "distinctCount": 1200}, "status": {"nullCount": 7}},
        "runId": RUN_1,
        "job": {"namespace": "dbt", "name": f"{ORDERS}.test"},
        "eventTime": "2025-05-01T10:01:00Z",
    }


def great_expectations_run(run_id: str, time: str, assertions: list[dict]) -> dict:
    """What Great Expectations' OpenLineage action sends: its own assertions facet (the kind of each
    test in `expectationType`) and dataQualityMetrics, among the validated table's inputFacets."""
    metrics = {"rowCount": 1000, "columnMetrics": {"status": {"nullCount": 4}}}
    return {
        "eventTime": time,
        "eventType": "COMPLETE",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/integration/common/openlineage/provider/great_expectations",
        "run": {"runId": run_id},
        "job": {"namespace": "ge", "name": "orders_suite.checkpoint"},
        "inputs": [
            {
                "namespace": WAREHOUSE,
                "name": ORDERS,
                "inputFacets": {
                    "greatExpectations_assertions": {"assertions": assertions},
                    "dataQualityMetrics": metrics,
                },
            }
        ],
        "outputs": [],
    }


def test_great_expectations_and_dbt_results_show_together_the_newest_check_first(catalog_engine):
    expectations = [
        {"expectationType": "expect_column_values_to_not_be_null", "success": False, "column": "status"},
        {"expectationType": "expect_table_row_count_to_be_between", "success": True},
    ]
    send(catalog_engine, dbt_test_run(RUN_1, "2025-05-01", FIRST))
    send(catalog_engine, [great_expectations_run(RUN_2, "2025-05-02T09:00:00Z", expectations)])
    found = quality(catalog_engine)
    assert [(a["assertion"], a["column"], a["success"], a["runId"]) for a in found["assertions"]] == [
        ("expect_column_values_to_not_be_null", "status", False, RUN_2),
        ("expect_table_row_count_to_be_between", None, True, RUN_2),
        ("not_null", "id", True, RUN_1),
        ("unique", "id", True, RUN_1),
        ("accepted_values", "status", False, RUN_1),
    ]
    assert found["summary"] == {"passed": 3, "failed": 2, "unknown": 0}
    assert found["checkedBy"]["job"] == {"namespace": "ge", "name": "orders_suite.checkpoint"}
    assert found["metrics"]["columnMetrics"] == {"status": {"nullCount": 4}} and found["metrics"]["runId"] == RUN_2
    send(catalog_engine, dbt_test_run(RUN_1 + "-3", "2025-05-03", FIRST))  # dbt's results are newer again
    again = quality(catalog_engine)
    assert again["checkedBy"]["runId"] == RUN_1 + "-3" and len(again["assertions"]) == 5


def structured_logs_test(run_id: str, time: str, test: dict) -> list[dict]:
    """What dbt-ol sends with --consume-structured-logs: each test from a job of its own (its test
    node), a child of the dbt command's run, the one assertion on the tested table's input."""
    events = dbt_test_run(run_id, time[:10], [test])
    for payload in events:
        payload["job"] = {**payload["job"], "name": f"orders.{test['name']}"}
        payload["run"]["facets"] = {
            "parent": {
                "run": {"runId": "01890f0a-0000-7000-8000-0000000000ff"},
                "job": {"namespace": "dbt", "name": "dbt-run-jaffle_shop"},
            }
        }
    return events


@pytest.mark.parametrize("order", ["as sent", "reversed"])
def test_dbt_structured_logs_one_test_per_job_show_every_test_whatever_the_order(catalog_engine, order):
    events = [
        *structured_logs_test(RUN_1, "2025-05-01", FIRST[0]),
        *structured_logs_test(RUN_2, "2025-05-01", FIRST[1]),
        *structured_logs_test(RUN_1 + "-c", "2025-05-01", FIRST[2]),
    ]
    send(catalog_engine, events if order == "as sent" else events[::-1])
    found = quality(catalog_engine)
    assert sorted((a["assertion"], a["success"], a["runId"]) for a in found["assertions"]) == [
        ("accepted_values", False, RUN_1 + "-c"),
        ("not_null", True, RUN_1),
        ("unique", True, RUN_2),
    ]
    assert found["summary"] == {"passed": 2, "failed": 1, "unknown": 0}
    # the next run of one test replaces that test's result only
    send(catalog_engine, structured_logs_test("rerun", "2025-05-02", {**FIRST[2], "success": True}))
    assert quality(catalog_engine)["summary"] == {"passed": 3, "failed": 0, "unknown": 0}


def test_a_dataset_nobody_tested_has_no_quality_and_lists_carry_each_datasets_own(catalog_engine):
    send(catalog_engine, dbt_test_run(RUN_1, "2025-05-01", FIRST))
    plain = dbt_test_run(RUN_2, "2025-05-01", [], dataset="analytics.public.customers")
    table = plain[0]["inputs"][0]  # both events share it
    del table["facets"]["dataQualityAssertions"], table["inputFacets"]
    send(catalog_engine, plain)
    with read_connection(catalog_engine) as conn:
        listed, _ = catalog.list_datasets(conn, WAREHOUSE, 10, 0)
    by_name = {d["name"]: d["quality"] for d in listed}
    assert by_name["analytics.public.customers"] is None
    assert by_name[ORDERS]["summary"]["failed"] == 1


def test_the_dataset_route_answers_its_declared_model_with_malformed_quality(catalog_api):
    for event in dbt_test_run(RUN_1, "2025-05-01", [assertion("not_null", True, "id"), {"column": 3}], "api.orders"):
        assert catalog_api.send(event).status_code == 201
    one = catalog_api.get(f"api/v1/namespaces/{WAREHOUSE.replace('/', '%2F')}/datasets/api.orders")
    assert one.status_code == 200, one.text
    found = TypeAdapter(Dataset).validate_python(one.json()).quality
    assert found is not None and found.summary.passed == 1 and found.summary.unknown == 1
    assert found.problems[0] == "assertions[1].success: expected true or false, got nothing"
    listed = catalog_api.get(f"api/v1/namespaces/{WAREHOUSE.replace('/', '%2F')}/datasets")
    assert listed.status_code == 200 and listed.json()["datasets"][0]["quality"] == one.json()["quality"]


def test_reading_assertions_keeps_the_order_sent_and_counts_results():
    found, problems = read_assertions({"assertions": [assertion("a", False, "c"), assertion("b", True)]})
    assert [a["assertion"] for a in found] == ["a", "b"] and problems == []
    assert summarise(found) == {"passed": 1, "failed": 1, "unknown": 0}
    assert read_metrics("not an object") is None and read_metrics({})["columnMetrics"] == {}


@pytest.mark.parametrize("link_first", [False, True])
def test_results_sent_on_a_path_show_on_the_table_it_is_linked_to(catalog_engine, link_first):
    # two test jobs (as dbt-ol's structured logs send them): both results move with the link
    tested = structured_logs_test(RUN_1, "2025-05-01", FIRST[0]) + structured_logs_test(RUN_2, "2025-05-01", FIRST[1])
    for payload in tested:
        payload["inputs"][0].update(namespace="s3://lake", name="wh/orders")
    link = {
        "eventTime": "2025-05-02T10:00:00Z",
        "eventType": "COMPLETE",
        "producer": PRODUCER,
        "run": {"runId": "01890f0a-0000-7000-8000-00000000000c"},
        "job": {"namespace": "spark", "name": "write_orders"},
        "inputs": [],
        "outputs": [
            {
                "namespace": "s3://lake",
                "name": "wh/orders",
                "facets": {"symlinks": {"identifiers": [{"namespace": WAREHOUSE, "name": ORDERS, "type": "TABLE"}]}},
            }
        ],
    }
    send(catalog_engine, [link, *tested] if link_first else [*tested, link])
    found = quality(catalog_engine)
    assert sorted((a["assertion"], a["runId"]) for a in found["assertions"]) == [("not_null", RUN_1), ("unique", RUN_2)]
