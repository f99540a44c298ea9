"""The read API of a real api-server after sending the corpus (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from urllib.parse import quote

import pytest
import requests
from conftest import EXAMPLES
from http_client import corpus_events
from test_projection import load_set

pytestmark = pytest.mark.integration


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
    assert runs["runs"][0]["nominalStartTime"] == "2025-01-15T10:00:00Z"


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
    # Other tests on this server send the same corpus under their own job namespaces: keep ours.
    ids = {node["id"] for node in graph if node["type"] == "DATASET" or node["data"]["namespace"] == sent}
    assert ids == {
        "dataset:postgresql://db.internal:5432:sales.public.orders",
        f"job:{sent}:orders_sync_pipeline.sync_orders",
        "dataset:snowflake:analytics.reporting.daily_orders",
    }
    job = next(n for n in graph if n["type"] == "JOB" and n["data"]["namespace"] == sent)
    assert [e["origin"] for e in job["inEdges"]] == ["dataset:postgresql://db.internal:5432:sales.public.orders"]


def test_multi_task_chain_is_traversed_end_to_end(client, sent):
    graph = get(client, "lineage", nodeId=f"job:{sent}:orders_pipeline.transform_orders", depth=10)["graph"]
    names = {n["data"]["name"] for n in graph}
    assert {
        "orders_pipeline.extract_from_source",
        "orders_pipeline.transform_orders",
        "orders_pipeline.load_to_warehouse",
    } <= names
    load = get(client, f"namespaces/{sent}/jobs/orders_pipeline.load_to_warehouse")
    assert len(load["inputs"]) == 2 and len(load["outputs"]) == 2
    assert load["upstreamTasks"] == ["transform_orders"]
    assert get(client, f"namespaces/{sent}/jobs/orders_pipeline.extract_from_source")["upstreamTasks"] == []


def test_spark_application_children_and_lineage(client, sent):
    jobs = get(client, f"namespaces/{sent}/jobs", limit=1000)["jobs"]
    children = [j for j in jobs if j["parentJobName"] == "ecommerce_pipeline"]
    assert len(children) == 3 and all(j["latestRun"]["state"] == "COMPLETED" for j in children)
    assert sum(1 for j in children if j["inputs"] or j["outputs"]) == 1
    out = next(j for j in children if j["outputs"])["outputs"][0]
    ds = get(client, f"namespaces/{quote(out['namespace'], safe='')}/datasets/{quote(out['name'], safe='')}")
    assert len(ds["fields"]) == 5 and ds["facets"]["outputStatistics"]["rowCount"] > 0


def test_run_by_id_and_its_facets(client, sent):
    run = get(client, "jobs/runs/880e8400-e29b-41d4-a716-446655440001")
    assert run["state"] == "COMPLETED" and run["durationMs"] >= 0
    assert "parent" in get(client, "jobs/runs/880e8400-e29b-41d4-a716-446655440001/facets")["facets"]


def test_namespace_lists_integrations(client, sent):
    ns = get(client, f"namespaces/{sent}")
    assert ns["integrations"] == ["AIRFLOW", "SPARK"] and ns["eventCount"] == 32


def test_unknown_entities_are_404_naming_what_is_missing(client, sent):
    dataset = "namespaces/snowflake/datasets/analytics.reporting.daily_orders"
    missing = {
        "namespaces/nope-ns": "namespace 'nope-ns' not found",
        f"namespaces/{sent}/jobs/nope": f"job {sent}:nope not found",
        f"namespaces/{sent}/jobs/nope/runs": f"job {sent}:nope not found",
        "namespaces/snowflake/datasets/nope": "dataset snowflake:nope not found",
        "namespaces/snowflake/datasets/nope/versions": "dataset snowflake:nope not found",
        f"{dataset}/versions/v-nope": "version 'v-nope' of dataset snowflake:analytics.reporting.daily_orders not found",
        "jobs/runs/no-such-run": "run 'no-such-run' not found",
        "jobs/runs/no-such-run/facets": "run 'no-such-run' not found",
    }
    for path, detail in missing.items():
        response = client.get("ol-catalog/api/v1/" + path)
        assert (response.status_code, response.json()) == (404, {"detail": detail}), path
    for route in ("lineage", "column-lineage", "impact"):
        response = client.get("ol-catalog/api/v1/" + route, nodeId="dataset:snowflake:nope")
        assert (response.status_code, response.json()) == (404, {"detail": "node 'dataset:snowflake:nope' not found"})


def test_node_ids_of_a_kind_a_route_does_not_take_are_422_saying_which_it_takes(client, sent):
    response = client.get("ol-catalog/api/v1/lineage", nodeId="table:x:y")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query parameter nodeId: expected job:NAMESPACE:NAME, dataset:")
    response = client.get("ol-catalog/api/v1/impact", nodeId=f"job:{sent}:nope")
    assert response.status_code == 422 and "datasetField:NAMESPACE:NAME:FIELD" in response.json()["detail"]
    response = client.get("ol-catalog/api/v1/column-lineage", nodeId="datasetField:nofield")
    assert response.status_code == 422 and "datasetField node ids are" in response.json()["detail"]


def test_the_namespace_given_with_a_node_id_says_where_its_namespace_ends(client, sent):
    node = "dataset:postgresql://db.internal:5432:sales.public.orders"
    for route in ("lineage", "column-lineage", "flows", "impact"):
        found = client.get("ol-catalog/api/v1/" + route, nodeId=node, namespace="postgresql://db.internal:5432")
        assert found.status_code == 200, (route, found.text)
        other = client.get("ol-catalog/api/v1/" + route, nodeId=node, namespace="postgresql://db.internal")
        assert (other.status_code, other.json()) == (404, {"detail": f"node {node!r} not found"}), route
        wrong = client.get("ol-catalog/api/v1/" + route, nodeId=node, namespace="postgresql://db")
        assert wrong.status_code == 422, route
        assert wrong.json()["detail"] == (
            f"query parameter namespace: {node!r} does not read as a node of namespace 'postgresql://db'"
        )
    graph = get(client, "lineage", nodeId=node, namespace="postgresql://db.internal:5432", depth=0)["graph"]
    assert [(n["data"]["namespace"], n["data"]["name"]) for n in graph] == [
        ("postgresql://db.internal:5432", "sales.public.orders")
    ]


def test_read_api_refuses_anonymous_and_write_only_tokens(client, sent):
    assert requests.get(client.server.url + "ol-catalog/api/v1/namespaces", timeout=10).status_code == 401
    writer = client.server.create_token("w-" + uuid.uuid4().hex[:6])
    assert client.get("ol-catalog/api/v1/namespaces", token=writer).status_code == 403


def test_lineage_nodes_carry_the_job_and_dataset_as_their_routes_answer_them(client, sent):
    node = f"job:{sent}:orders_sync_pipeline.sync_orders"
    graph = {n["id"]: n for n in get(client, "lineage", nodeId=node, depth=1)["graph"]}
    job = get(client, f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders")
    # the newest run only, in latestRun, as Marquez's graph has it
    assert graph[node]["data"] == {k: v for k, v in job.items() if k != "latestRuns"}
    assert graph[node]["data"]["latestRun"] == job["latestRuns"][0]
    dataset = "dataset:snowflake:analytics.reporting.daily_orders"
    # The caller is a token: the dataset's Connection details are withheld here as on its own route.
    assert graph[dataset]["data"] == get(client, "namespaces/snowflake/datasets/analytics.reporting.daily_orders")
    assert graph[node]["outEdges"] == [{"origin": node, "destination": dataset}]
    assert graph[dataset]["inEdges"] == [{"origin": node, "destination": dataset}]


def test_marquez_stats_count_per_hour_and_per_day_of_a_time_zone(client, sent):
    day = get(client, "stats/lineage-events", period="DAY")
    assert len(day) == 24 and set(day[0]) == {"startInterval", "endInterval", "fail", "start", "complete", "abort"}
    week = get(client, "stats/jobs", period="WEEK", timezone="Asia/Kathmandu")
    assert len(week) == 7 and all(m["startInterval"].endswith("T00:00:00Z") for m in week)
    assert 0 < week[-1]["count"] <= get(client, "stats")["jobs"]  # the same jobs, minus any first seen ahead of now
    for asset in ("datasets", "sources"):
        assert len(get(client, f"stats/{asset}", period="DAY")) == 24
    refused = {
        "period": client.get("ol-catalog/api/v1/stats/jobs", period="MONTH"),
        "timezone": client.get("ol-catalog/api/v1/stats/lineage-events", period="WEEK"),
    }
    refused["timezone "] = client.get("ol-catalog/api/v1/stats/datasets", period="WEEK", timezone="Mars/Olympus")
    for field, response in refused.items():
        assert response.status_code == 422 and field.strip() in response.json()["detail"], response.text


def test_graph_and_marquez_stats_routes_document_their_answers(client, sent):
    document = requests.get(client.server.url + "ol-catalog/openapi.json", timeout=30).json()

    def answers(path: str) -> dict:
        return {status: json.dumps(body) for status, body in document["paths"][path]["get"]["responses"].items()}

    for path, model in (("lineage", "LineageGraph"), ("column-lineage", "ColumnLineageGraph")):
        found = answers(f"/api/v1/{path}")
        assert f"schemas/{model}" in found["200"] and "schemas/ErrorBody" in found["404"], path
    for path, model in (("lineage-events", "LineageMetric"), ("sources", "IntervalMetric")):
        found = answers(f"/api/v1/stats/{path}")
        assert f"schemas/{model}" in found["200"] and "schemas/ErrorBody" in found["422"], path


def test_column_lineage_of_a_field_names_its_inputs_and_transformations(client, sent):
    node = "datasetField:bigquery:analytics_db.reporting.customer_metrics:total_orders"
    graph = get(client, "column-lineage", nodeId=node)["graph"]
    target = next(n for n in graph if n["id"] == node)
    (source,) = target["data"]["inputFields"]
    assert (source["dataset"], source["transformationType"]) == ("analytics_db.raw.customer_events", "DIRECT")
    assert target["inEdges"] == [
        {"origin": node, "destination": f"datasetField:bigquery:analytics_db.raw.customer_events:{source['field']}"}
    ]


def test_column_lineage_of_a_dataset_covers_all_its_fields(client, sent):
    graph = get(client, "column-lineage", nodeId="dataset:bigquery:analytics_db.reporting.customer_metrics")["graph"]
    outputs = {n["data"]["field"] for n in graph if n["data"]["dataset"] == "analytics_db.reporting.customer_metrics"}
    assert outputs == {"customer_id", "total_orders", "lifetime_value", "last_order_date"}


def test_column_lineage_downstream_from_an_input_field(client, sent):
    node = "datasetField:postgresql://crm.internal:5432:crm.public.customers:first_name"
    graph = get(client, "column-lineage", nodeId=node, withDownstream="True")["graph"]
    target = next(n for n in graph if n["data"]["field"] == "customer_name")
    assert target["data"]["dataset"] == "analytics.reporting.customer_metrics"
    assert {f["field"] for f in target["data"]["inputFields"]} == {"first_name", "last_name"}
    assert {"origin": node, "destination": target["id"]} in next(n for n in graph if n["id"] == node)["outEdges"]


def test_search_finds_datasets_and_jobs_by_part_of_the_name(client, sent):
    found = get(client, "search", q="ORDERS", limit=100)
    types = {r["type"] for r in found["results"]}
    assert types == {"DATASET", "JOB"} and found["totalCount"] == len(found["results"])
    only_jobs = get(client, "search", q="orders", filter="job", limit=100)["results"]
    assert only_jobs and all(r["nodeId"].startswith("job:") for r in only_jobs)
    assert get(client, "search", q="100%_sure")["results"] == []


def test_marquez_python_client_reads_the_catalog(client, sent):
    from marquez_client import MarquezClient

    marquez = MarquezClient(client.server.url + "ol-catalog", api_key=client.server.token)
    assert sent in [ns["name"] for ns in marquez.list_namespaces(limit=1000)["namespaces"]]
    assert marquez.get_namespace(sent)["name"] == sent
    jobs = marquez.list_jobs(sent, limit=1000)["jobs"]
    assert "orders_sync_pipeline.sync_orders" in {j["name"] for j in jobs}
    job = marquez.get_job(sent, "orders_sync_pipeline.sync_orders")
    runs = marquez.list_job_runs(sent, "orders_sync_pipeline.sync_orders")["runs"]
    assert runs[0]["state"] == "COMPLETED" and job["latestRun"]["id"] == runs[0]["id"]
    assert marquez.get_job_run(runs[0]["id"])["state"] == "COMPLETED"
    namespace = "postgresql://db.internal:5432"  # sent encoded by the client: postgresql%3A%2F%2F...
    assert marquez.get_dataset(namespace, "sales.public.orders")["name"] == "sales.public.orders"
    assert "sales.public.orders" in {d["name"] for d in marquez.list_datasets(namespace)["datasets"]}
    versions = marquez.list_dataset_versions("snowflake", "analytics.reporting.daily_orders")["versions"]
    assert len(versions[0]["fields"]) == 4
    assert marquez.get_dataset_version("snowflake", "analytics.reporting.daily_orders", versions[0]["version"])["name"]
    assert isinstance(marquez.list_tags(limit=10)["tags"], list)
    events = marquez.list_events(namespace=sent, limit=50)["events"]
    assert len(events) == 32 and {e["job"]["namespace"] for e in events} == {sent}
    assert len(marquez.list_events(limit=5)["events"]) == 5
    graph = marquez.get_column_lineage_by_dataset_field(
        "bigquery", "analytics_db.reporting.customer_metrics", "customer_id"
    )["graph"]
    assert any(n["data"]["inputFields"] for n in graph)
    by_dataset = marquez.get_column_lineage_by_dataset("bigquery", "analytics_db.reporting.customer_metrics")
    assert any(n["data"]["inputFields"] for n in by_dataset["graph"])
    by_job = marquez.get_column_lineage_by_job(sent, "customer_analytics.compute_customer_metrics")
    assert by_job["graph"]
    sources = marquez.list_sources(limit=1000)["sources"]
    assert "mysql://db.ecommerce.internal:3306" in {s["name"] for s in sources}
    source = marquez.get_source("mysql://db.ecommerce.internal:3306")
    assert (source["type"], source["connectionUrl"]) == ("MYSQL", "mysql://db.ecommerce.internal:3306")


def test_marquez_python_client_lists_the_datasets_of_every_namespace_it_lists(client, sent, corpus):
    from marquez_client import MarquezClient

    marquez = MarquezClient(client.server.url + "ol-catalog", api_key=client.server.token)
    namespaces = [ns["name"] for ns in marquez.list_namespaces(limit=1000)["namespaces"]]
    datasets = {ns: marquez.list_datasets(ns, limit=1000)["datasets"] for ns in namespaces}
    # Dataset namespaces are namespaces: each dataset is listed under the namespace it names.
    assert {"snowflake", "bigquery", "postgresql://db.internal:5432"} <= set(namespaces)
    assert "analytics.reporting.daily_orders" in {d["name"] for d in datasets["snowflake"]}
    # Each listed dataset of the corpus reads back by the names it was listed with (the server is
    # shared: other tests' datasets are listed too, and test_marquez_contract reads every one).
    sent_to = {
        d["namespace"] for payload in corpus_events(corpus, sent) for d in payload["inputs"] + payload["outputs"]
    }
    read_back = [(ns, ds) for ns in sorted(sent_to) for ds in datasets[ns]]
    assert len(read_back) >= 10
    for ns, ds in read_back:
        assert marquez.get_dataset(ns, ds["name"])["id"] == ds["id"]


def _small_run(client, namespace: str, job_name: str, source: str, target: str) -> None:
    for event_type in ("START", "COMPLETE"):
        payload = {
            "eventTime": "2025-03-01T10:00:00Z" if event_type == "START" else "2025-03-01T10:05:00Z",
            "eventType": event_type,
            "producer": "https://example.com/tests",
            "run": {"runId": f"{job_name}-run"},
            "job": {"namespace": namespace, "name": job_name},
            "inputs": [{"namespace": "s3://admin-tests", "name": source}],
            "outputs": [{"namespace": "s3://admin-tests", "name": target}],
        }
        assert client.send(payload).status_code == 201


def test_admin_hides_and_restores_a_dataset_others_may_not(client):
    ns = "adm-" + uuid.uuid4().hex[:6]
    _small_run(client, ns, "copy", f"{ns}-src", f"{ns}-dst")
    path = f"ol-catalog/api/v1/namespaces/s3%3A%2F%2Fadmin-tests/datasets/{ns}-dst"
    url = client.server.url + path
    assert requests.delete(url, timeout=10).status_code == 401
    assert (
        requests.delete(url, headers={"Authorization": f"Bearer {client.server.token}"}, timeout=10).status_code == 403
    )
    viewer = client.server.jwt("viewer")
    assert requests.delete(url, headers={"Authorization": f"Bearer {viewer}"}, timeout=10).status_code == 403
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    assert requests.delete(url, headers=admin, timeout=10).json() == {"hidden": True}
    assert client.get(path).status_code == 404
    assert requests.delete(url, headers=admin, timeout=10).json() == {"hidden": True}  # hiding again is no error
    gone = url.replace(f"{ns}-dst", f"{ns}-never")
    answer = requests.delete(gone, headers=admin, timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"detail": f"dataset s3://admin-tests:{ns}-never not found"})
    assert get(client, f"namespaces/{ns}/jobs/copy")["outputs"] == []
    assert requests.post(url + "/restore", headers=admin, timeout=10).json() == {"hidden": False}
    assert get(client, path.removeprefix("ol-catalog/api/v1/"))["name"] == f"{ns}-dst"


def test_hidden_job_stays_hidden_after_new_events_and_stops_bridging(client):
    ns = "adm-" + uuid.uuid4().hex[:6]
    _small_run(client, ns, "bridge", f"{ns}-a", f"{ns}-b")
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    assert (
        requests.delete(
            client.server.url + f"ol-catalog/api/v1/namespaces/{ns}/jobs/bridge", headers=admin, timeout=10
        ).status_code
        == 200
    )
    _small_run(client, ns, "bridge", f"{ns}-a", f"{ns}-b")
    assert client.get(f"ol-catalog/api/v1/namespaces/{ns}/jobs/bridge").status_code == 404
    graph = get(client, "lineage", nodeId=f"dataset:s3://admin-tests:{ns}-a", depth=5)["graph"]
    assert [n["data"]["name"] for n in graph] == [f"{ns}-a"]


def test_hidden_namespace_hides_its_jobs_until_restored(client):
    ns = "adm-" + uuid.uuid4().hex[:6]
    _small_run(client, ns, "nightly", f"{ns}-x", f"{ns}-y")
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    base = client.server.url + f"ol-catalog/api/v1/namespaces/{ns}"
    assert requests.delete(base, headers=admin, timeout=10).status_code == 200
    assert get(client, f"namespaces/{ns}/jobs")["totalCount"] == 0
    assert get(client, f"namespaces/{ns}")["isHidden"] is True
    assert requests.post(base + "/restore", headers=admin, timeout=10).status_code == 200
    assert get(client, f"namespaces/{ns}/jobs")["totalCount"] == 1
    assert (
        requests.delete(
            client.server.url + "ol-catalog/api/v1/namespaces/nope-" + ns, headers=admin, timeout=10
        ).status_code
        == 404
    )


def test_lineage_directions_and_time_travel_over_http(client, sent):
    node = f"job:{sent}:orders_pipeline.transform_orders"
    up = get(client, "lineage", nodeId=node, direction="upstream", depth=10)["graph"]
    assert "orders_pipeline.load_to_warehouse" not in {n["data"]["name"] for n in up}
    assert "orders_pipeline.extract_from_source" in {n["data"]["name"] for n in up}
    early = get(client, "lineage", nodeId=node, depth=10, asOf="2000-01-01T00:00:00Z")["graph"]
    assert [n["id"] for n in early] == [node]
    bad = client.get("ol-catalog/api/v1/lineage", nodeId=node, asOf="later")
    assert bad.status_code == 422 and "asOf" in bad.json()["detail"]


def test_impact_of_a_column_follows_column_lineage(client, sent):
    report = get(client, "impact", nodeId="datasetField:postgresql://crm.internal:5432:crm.public.customers:first_name")
    ids = [item["id"] for item in report["impacted"]]
    assert ids == [
        "datasetField:redshift://cluster.region.redshift.amazonaws.com:5439:analytics.reporting.customer_metrics:customer_name"
    ]
    # The job the column lineage names last; other tests may send the same corpus under their own namespace.
    (job,) = report["impacted"][0]["jobs"]
    assert job.endswith(":customer_analytics.compute_customer_metrics")
    item = report["impacted"][0]
    assert (item["name"], item["field"]) == ("analytics.reporting.customer_metrics", "customer_name")
    assert item["namespace"] == "redshift://cluster.region.redshift.amazonaws.com:5439"
    assert report["jobs"][job]["name"] == "customer_analytics.compute_customer_metrics"
    assert report["jobs"][job]["latestRun"]["state"] == "COMPLETED"


def test_stats_count_the_catalog(client, sent):
    stats = get(client, "stats")
    assert stats["events"] >= 32 and stats["jobs"] >= 16 and stats["runsByState"]["COMPLETED"] >= 16
    assert sum(day["events"] for day in stats["eventsPerDay"]) <= stats["events"]
    hours = stats["eventsPerHour"]  # everything here arrived in the last minutes
    assert hours and sum(h["events"] for h in hours) == stats["events"] and all(len(h["hour"]) == 16 for h in hours)
    assert any(ns["namespace"] == sent and ns["events"] == 32 for ns in stats["eventsPerNamespace"])


def test_symlinked_path_and_table_are_one_dataset_under_either_name(client):
    namespace = "sym-" + uuid.uuid4().hex[:6]
    for payload in load_set(EXAMPLES / "07_symlinks", namespace):
        assert client.send(payload).status_code == 201
    table = get(client, "namespaces/hive%3A%2F%2Fmetastore%3A9083/datasets/sales.orders_clean")
    by_path = get(client, "namespaces/s3%3A%2F%2Facme-lake/datasets/warehouse%2Fsales.db%2Forders_clean")
    assert by_path["id"] == table["id"] == {"namespace": "hive://metastore:9083", "name": "sales.orders_clean"}
    assert table["aliases"] == [{"namespace": "s3://acme-lake", "name": "warehouse/sales.db/orders_clean"}]
    assert [f["name"] for f in table["fields"]] == ["order_id", "amount", "ordered_at"]
    listed = get(client, "namespaces/s3%3A%2F%2Facme-lake/datasets")["datasets"]
    assert "warehouse/sales.db/orders_clean" not in {d["name"] for d in listed}
    graph = get(client, "lineage", nodeId="dataset:s3://acme-lake:warehouse/sales.db/orders_clean", depth=2)["graph"]
    assert {n["id"] for n in graph} >= {
        f"job:{namespace}:clean_orders.execute_insert_into_hadoop_fs_relation_command",
        "dataset:hive://metastore:9083:sales.orders_clean",
        f"job:{namespace}:sales_reports.daily_revenue",
    }
    assert not any(n["id"].startswith("dataset:s3://acme-lake:warehouse/sales.db/orders_clean") for n in graph)


def test_search_pages_and_sorts_on_the_server(client, sent):
    everything = get(client, "search", limit=1000)
    # The server is shared by the whole module: the catalog may hold more than one page.
    assert len(everything["results"]) == min(everything["totalCount"], 1000) >= 10
    names = [r["name"] for r in everything["results"]]
    assert names == sorted(names)
    page = get(client, "search", limit=3, offset=3)
    assert [r["name"] for r in page["results"]] == names[3:6] and page["totalCount"] == everything["totalCount"]
    newest = get(client, "search", sortBy="updatedAt", sortDirection="desc", limit=1000)["results"]
    assert [r["updatedAt"] for r in newest] == sorted((r["updatedAt"] for r in newest), reverse=True)
    jobs = get(client, "search", filter="job", sortBy="namespace", limit=1000)["results"]
    assert {r["type"] for r in jobs} == {"JOB"} and [r["namespace"] for r in jobs] == sorted(
        r["namespace"] for r in jobs
    )
    assert client.get("ol-catalog/api/v1/search", sortBy="size").status_code == 422


def test_runs_sort_by_state_or_end_on_the_server(client, sent):
    path = f"namespaces/{sent}/jobs/orders_pipeline.transform_orders/runs"
    by_state = get(client, path, sortBy="state", sortDirection="asc")["runs"]
    assert [r["state"] for r in by_state] == sorted(r["state"] for r in by_state)
    assert get(client, path, sortBy="endedAt")["totalCount"] == len(by_state)


def test_search_finds_columns_by_name(client, sent):
    found = get(client, "search", q="customer_i", filter="field", limit=100)
    fields = {(r["dataset"], r["field"]) for r in found["results"]}
    assert ("analytics.reporting.daily_orders", "customer_id") in fields
    assert all(r["type"] == "FIELD" and "customer_i" in r["field"].lower() for r in found["results"])
    assert found["totalCount"] == len(found["results"])
    first = found["results"][0]
    assert first["nodeId"] == f"datasetField:{first['namespace']}:{first['dataset']}:{first['field']}"


def test_runs_of_every_job_by_state(client, sent):
    completed = get(client, "runs", state="COMPLETED", limit=1000)
    assert completed["totalCount"] >= 16 and {r["state"] for r in completed["runs"]} == {"COMPLETED"}
    assert all({"namespace", "name"} <= set(r["jobVersion"]) for r in completed["runs"])
    everything = get(client, "runs", limit=1)
    assert everything["totalCount"] >= completed["totalCount"] and len(everything["runs"]) == 1
    assert client.get("ol-catalog/api/v1/runs", state="DONE").status_code == 422


def _writes(client, namespace: str, outputs: list[dict], job_name: str = "write") -> None:
    """One completed run of `job_name` that wrote `outputs` (a run of its own each time)."""
    payload = {
        "eventTime": "2025-03-02T10:00:00Z",
        "eventType": "COMPLETE",
        "producer": "https://example.com/tests",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": job_name},
        "outputs": outputs,
    }
    assert client.send(payload).status_code == 201


def _found(client, q: str, kind: str) -> list[str]:
    return sorted(r["name"] for r in get(client, "search", q=q, filter=kind, limit=100)["results"])


def test_nfc_and_nfd_spellings_are_two_datasets_and_search_with_either_finds_both(client):
    tag = uuid.uuid4().hex[:6]
    composed = f"caf\u00e9_{tag}"  # é as one character (NFC)
    decomposed = unicodedata.normalize("NFD", composed)  # e + U+0301
    assert composed != decomposed
    _writes(
        client, f"names-{tag}", [{"namespace": "s3://look-alikes", "name": name} for name in (composed, decomposed)]
    )
    for name in (composed, decomposed):
        assert get(client, f"namespaces/s3%3A%2F%2Flook-alikes/datasets/{quote(name, safe='')}")["name"] == name
    listed = {d["name"] for d in get(client, "namespaces/s3%3A%2F%2Flook-alikes/datasets", limit=1000)["datasets"]}
    assert {composed, decomposed} <= listed
    for q in (
        composed,
        decomposed,
        composed.upper(),
        decomposed.upper(),
        f"\uff23\uff21\uff26\u00c9_{tag}",
    ):  # and fullwidth
        assert _found(client, q, "dataset") == sorted([composed, decomposed]), ascii(q)


def test_search_finds_names_without_their_zero_width_characters(client):
    tag = uuid.uuid4().hex[:6]
    spaced = f"pay\u200bments_{tag}"
    _writes(
        client, f"names-{tag}", [{"namespace": "s3://look-alikes", "name": spaced}], job_name=f"load\u200d\u2060_{tag}"
    )
    assert _found(client, f"payments_{tag}", "dataset") == [spaced]
    assert _found(client, f"PAY\ufeffMENTS_{tag}", "dataset") == [spaced]
    assert _found(client, f"load_{tag}", "job") == [f"load\u200d\u2060_{tag}"]
    # A query of invisible characters alone finds the names that hold them.
    assert spaced in _found(client, "\u200b", "dataset")


def test_column_search_folds_field_names_as_search_folds_names(client):
    tag = uuid.uuid4().hex[:6]
    fields = [
        {"name": unicodedata.normalize("NFD", f"Stra\u00dfe_n\u00e4me_{tag}"), "type": "string"},
        {"name": f"zip\u200bcode_{tag}", "type": "string"},
    ]
    schema = {
        "_producer": "https://example.com/tests",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": fields,
    }
    _writes(
        client,
        f"names-{tag}",
        [{"namespace": "s3://look-alikes", "name": f"addresses_{tag}", "facets": {"schema": schema}}],
    )
    for q, field in ((f"strasse_N\u00c4ME_{tag}", fields[0]["name"]), (f"zipcode_{tag}", fields[1]["name"])):
        results = get(client, "search", q=q, filter="field", limit=100)["results"]
        assert [(r["dataset"], r["field"]) for r in results] == [(f"addresses_{tag}", field)], ascii(q)


def test_a_namespace_of_datasets_only_is_listed_and_found(client, sent):
    listed = {ns["name"]: ns for ns in get(client, "namespaces", limit=1000)["namespaces"]}
    assert listed["snowflake"]["registered"] is False and listed["snowflake"]["ownerName"] == "anonymous"
    assert listed[sent]["registered"] is True and listed[sent]["eventCount"] == 32
    found = get(client, "namespaces/snowflake")
    assert found["name"] == "snowflake" and found["createdAt"] and found["isHidden"] is False
    missing = client.get("ol-catalog/api/v1/namespaces/no-such-namespace-" + sent)
    assert missing.status_code == 404 and "no-such-namespace" in missing.json()["detail"]


def test_names_are_single_path_segments(client, sent):
    versions = get(client, f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders/versions")
    assert versions["totalCount"] == 1 and versions["versions"][0]["name"] == "orders_sync_pipeline.sync_orders"
    # Not a namespace named `{sent}/sources`: no route has that shape.
    response = client.get(f"ol-catalog/api/v1/namespaces/{sent}/sources")
    assert response.status_code == 404 and response.json()["detail"] == "Not Found"
    unescaped = client.get("ol-catalog/api/v1/namespaces/snowflake/datasets/analytics/reporting")
    assert unescaped.status_code == 404 and unescaped.json()["detail"] == "Not Found"


def test_marquez_write_routes_say_the_catalog_is_built_from_events(client, sent):
    base = client.server.url + "ol-catalog/api/v1/"
    headers = {"Authorization": f"Bearer {client.server.token}"}
    # (method, path, the methods the path does answer: Allow of the 405)
    for method, path, allowed in (
        ("PUT", f"namespaces/{sent}", "DELETE, GET"),
        ("PUT", "namespaces/snowflake/datasets/analytics.reporting.daily_orders", "DELETE, GET"),
        ("PUT", f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders", "DELETE, GET"),
        ("POST", f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders/runs", "GET"),
        ("POST", "jobs/runs/880e8400-e29b-41d4-a716-446655440001/complete", ""),
        ("PUT", "sources/mysql%3A%2F%2Fdb", "GET"),
    ):
        response = requests.request(method, base + path, headers=headers, json={}, timeout=10)
        assert response.status_code == 405, (method, path, response.text)
        assert "OpenLineage events" in response.json()["detail"] and "/api/v1/lineage" in response.json()["detail"]
        assert response.headers["Allow"] == allowed, (method, path, response.headers["Allow"])
    from marquez_client import MarquezClient
    from marquez_client.errors import APIError

    marquez = MarquezClient(client.server.url + "ol-catalog", api_key=client.server.token)
    for write in (
        lambda: marquez.create_namespace(sent, "me"),
        lambda: marquez.create_job_run(sent, "orders_sync_pipeline.sync_orders"),
        lambda: marquez.mark_job_run_as_completed("880e8400-e29b-41d4-a716-446655440001"),
    ):
        with pytest.raises(APIError) as refused:
            write()
        assert refused.value.__cause__.response.status_code == 405


def test_search_matches_names_not_namespaces_and_takes_marquezs_parameters(client, sent):
    assert get(client, "search", q=sent, limit=100)["results"] == []
    mine = get(client, "search", q="orders", namespace=sent, limit=100)["results"]
    assert mine and {r["namespace"] for r in mine} == {sent} and {r["type"] for r in mine} == {"JOB"}
    assert get(client, "search", q="orders", before="2000-01-01")["results"] == []
    assert get(client, "search", q="orders", after="2000-01-01", filter="DATASET")["results"]
    newest = get(client, "search", q="orders", sort="UPDATE_AT", sortDirection="desc", limit=100)["results"]
    assert [r["updatedAt"] for r in newest] == sorted((r["updatedAt"] for r in newest), reverse=True)
    bad = client.get("ol-catalog/api/v1/search", q="orders", before="yesterday")
    assert bad.status_code == 422 and "before" in bad.json()["detail"]


def test_jobs_filter_by_the_state_of_their_last_run(client):
    ns = "states-" + uuid.uuid4().hex[:6]
    _small_run(client, ns, "good", f"{ns}-a", f"{ns}-b")
    failed = {
        "eventTime": "2025-03-01T11:00:00Z",
        "eventType": "FAIL",
        "producer": "https://example.com/tests",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": ns, "name": "bad"},
    }
    assert client.send(failed).status_code == 201
    names = lambda **p: [j["name"] for j in get(client, f"namespaces/{ns}/jobs", **p)["jobs"]]  # noqa: E731
    assert names(lastRunStates="FAILED") == ["bad"]
    assert names(lastRunStates="COMPLETED") == ["good"]
    assert (
        client.get(f"ol-catalog/api/v1/namespaces/{ns}/jobs?lastRunStates=FAILED&lastRunStates=COMPLETED").json()[
            "totalCount"
        ]
        == 2
    )
    assert [j["name"] for j in get(client, "jobs", lastRunStates="FAILED", limit=1000)["jobs"]].count("bad") >= 1
    assert client.get("ol-catalog/api/v1/jobs", lastRunStates="DONE").status_code == 422


def test_job_has_its_latest_runs_and_current_version(client, sent):
    job = get(client, f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders")
    assert (
        job["latestRuns"] == [job["latestRun"]] and job["currentVersion"] == job["latestRun"]["jobVersion"]["version"]
    )
    run = job["latestRun"]
    assert run["jobVersion"]["name"] == "orders_sync_pipeline.sync_orders"
    (written,) = run["outputDatasetVersions"]
    assert written["datasetVersionId"]["name"] == "analytics.reporting.daily_orders"
    dataset = get(client, "namespaces/snowflake/datasets/analytics.reporting.daily_orders")
    assert dataset["currentVersion"] == written["datasetVersionId"]["version"]
    version = get(
        client, f"namespaces/snowflake/datasets/analytics.reporting.daily_orders/versions/{dataset['currentVersion']}"
    )
    assert version["createdByRun"]["state"] == "COMPLETED" and version["createdByRun"]["jobVersion"]["name"]
    # a UUID is the same UUID in upper case
    upper = dataset["currentVersion"].upper()
    assert get(client, f"namespaces/snowflake/datasets/analytics.reporting.daily_orders/versions/{upper}") == version
    job_version = get(
        client, f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders/versions/{job['currentVersion']}"
    )
    assert (
        get(client, f"namespaces/{sent}/jobs/orders_sync_pipeline.sync_orders/versions/{job['currentVersion'].upper()}")
        == job_version
    )


def test_run_facets_by_type_run_or_job(client, sent):
    path = "jobs/runs/880e8400-e29b-41d4-a716-446655440001/facets"
    assert "parent" in get(client, path, type="run")["facets"]
    job_facets = get(client, path, type="job")["facets"]
    assert "jobType" in job_facets and "parent" not in job_facets
