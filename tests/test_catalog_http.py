"""The read API of a real api-server after sending the corpus (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from test_ingest_http import Client, corpus_events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(airflow_server):
    c = Client(airflow_server)
    yield c
    c.engine.dispose()


@pytest.fixture(scope="module")
def sent(client, corpus):
    """Every corpus set, sent once into its own namespace."""
    namespace = "cat-" + uuid.uuid4().hex[:6]
    for payload in corpus_events(corpus, namespace):
        assert client.send(payload).status_code == 201
    return namespace


def get(client, path, **params):
    response = client.get("ol-catalog/api/v1/" + path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def test_simple_dag_task_is_a_child_of_its_dag_and_both_runs_completed(client, sent):
    task = get(client, f"namespaces/{sent}/jobs/daily_etl_pipeline.validate_data")
    assert task["parentJob"] == {"namespace": sent, "name": "daily_etl_pipeline"}
    assert task["latestRun"]["state"] == "COMPLETED" and task["inputs"] == [] and task["outputs"] == []
    runs = get(client, f"namespaces/{sent}/jobs/daily_etl_pipeline/runs")
    assert [r["state"] for r in runs["runs"]] == ["COMPLETED"] and runs["totalCount"] == 1
    assert runs["runs"][0]["nominalStartTime"] == "2025-01-15T10:00:00.000Z"


def test_job_lists_its_inputs_and_outputs(client, sent):
    job = get(client, f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders")
    assert job["inputs"] == [{"namespace": "postgresql://db.internal:5432", "name": "sales.public.orders"}]
    assert job["outputs"] == [{"namespace": "snowflake", "name": "analytics.reporting.daily_orders"}]
    assert (job["jobType"], job["integration"], job["type"]) == ("TASK", "AIRFLOW", "BATCH")


def test_dataset_shows_schema_fields_and_versions(client, sent):
    ds = get(client, "namespaces/snowflake/datasets/analytics.reporting.daily_orders")
    assert [f["name"] for f in ds["fields"]] == ["order_id", "customer_id", "amount", "order_date"]
    versions = get(client, "namespaces/snowflake/datasets/analytics.reporting.daily_orders/versions")
    assert versions["totalCount"] == 1 and len(versions["versions"][0]["fields"]) == 4


def test_dataset_is_found_under_another_spelling_of_its_namespace(client, sent):
    ds = get(client, "namespaces/postgres%3A%2F%2FDB.internal/datasets/sales.public.orders")
    assert ds["namespace"] == "postgresql://db.internal:5432"


def test_lineage_around_a_dataset_follows_the_path_with_colon_namespaces(client, sent):
    graph = get(client, "lineage", nodeId="dataset:postgresql://db.internal:5432:sales.public.orders", depth=2)["graph"]
    ids = {node["id"] for node in graph}
    assert ids == {
        "dataset:postgresql://db.internal:5432:sales.public.orders",
        f"job:{sent}:orders_sync_pipeline.sync_orders",
        "dataset:snowflake:analytics.reporting.daily_orders",
    }
    job = next(n for n in graph if n["type"] == "JOB")
    assert [e["origin"] for e in job["inEdges"]] == ["dataset:postgresql://db.internal:5432:sales.public.orders"]


def test_multi_task_chain_is_traversed_end_to_end(client, sent):
    graph = get(client, "lineage", nodeId=f"job:{sent}:orders_pipeline.transform_orders", depth=10)["graph"]
    names = {n["data"]["name"] for n in graph}
    assert {"orders_pipeline.extract_from_source", "orders_pipeline.transform_orders", "orders_pipeline.load_to_warehouse"} <= names
    load = get(client, f"namespaces/{sent}/jobs/orders_pipeline.load_to_warehouse")
    assert len(load["inputs"]) == 2 and len(load["outputs"]) == 2


def test_spark_application_children_and_lineage(client, sent):
    jobs = get(client, f"namespaces/{sent}/jobs", limit=1000)["jobs"]
    children = [j for j in jobs if j["parentJobName"] == "ecommerce_pipeline"]
    assert len(children) == 3 and all(j["latestRun"]["state"] == "COMPLETED" for j in children)
    assert sum(1 for j in children if j["inputs"] or j["outputs"]) == 1
    out = next(j for j in children if j["outputs"])["outputs"][0]
    ds = get(client, f"namespaces/{out['namespace']}/datasets/{out['name']}")
    assert len(ds["fields"]) == 5 and ds["facets"]["outputStatistics"]["rowCount"] > 0


def test_run_by_id_and_its_facets(client, sent):
    run = get(client, "jobs/runs/880e8400-e29b-41d4-a716-446655440001")
    assert run["state"] == "COMPLETED" and run["durationMs"] >= 0
    assert "parent" in get(client, "jobs/runs/880e8400-e29b-41d4-a716-446655440001/facets")["facets"]


def test_namespace_lists_integrations(client, sent):
    ns = get(client, f"namespaces/{sent}")
    assert ns["integrations"] == ["AIRFLOW", "SPARK"] and ns["eventCount"] == 32


def test_unknown_entities_are_404_and_bad_node_ids_say_why(client, sent):
    assert client.get(f"ol-catalog/api/v1/namespaces/{sent}/jobs/nope").status_code == 404
    response = client.get("ol-catalog/api/v1/lineage", nodeId="table:x:y")
    assert response.status_code == 404 and "job: or dataset:" in response.json()["detail"]


def test_read_api_refuses_anonymous_and_write_only_tokens(client, sent):
    import requests

    assert requests.get(client.server.url + "ol-catalog/api/v1/namespaces", timeout=10).status_code == 401
    writer = client.server.create_token("w-" + uuid.uuid4().hex[:6])
    assert client.get("ol-catalog/api/v1/namespaces", token=writer).status_code == 403
