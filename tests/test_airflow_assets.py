"""Airflow's Assets ⇄ the catalog's datasets, on the catalog's app in process: Assets stored in
Airflow's database as the dag-processor and the scheduler store them, events sent to the catalog;
an Asset names the dataset the OpenLineage provider converts its URI to, in any spelling of its
namespace. (test_demo_dags.py shows the same with Assets real DAGs declare.)"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from test_events import run_event

PG = "postgres://db.example:5432"


@pytest.fixture(scope="module")
def assets(catalog_api) -> dict[str, int]:
    """Four Assets: a PostgreSQL table the catalog knows under another spelling of its namespace, a
    file it knows too, a table it has never seen, and one whose scheme the OpenLineage provider
    cannot convert; a task producing the first, a DAG scheduled on it, two events of it."""
    from airflow.models.asset import AssetActive, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    outputs = [
        {"namespace": "postgresql://DB.example", "name": "shop.public.orders"},
        {"namespace": "file", "name": "/data/exports/orders.csv"},
        {"namespace": PG, "name": "shop.public.customers"},  # no Asset names it
    ]
    payload = run_event(
        eventType="COMPLETE",
        eventTime="2026-11-30T10:00:00Z",
        run={"runId": "0193c000-0000-7000-8000-0000000000a1", "facets": {}},
        job={"namespace": "spark-prod", "name": "orders_load", "facets": {}},
        outputs=outputs,
    )
    assert catalog_api.send(payload).status_code == 201
    declared = {
        "orders": "postgres://db.example:5432/shop/public/orders",
        "export": "file:///data/exports/orders.csv",
        "never_seen": "postgres://db.example:5432/shop/public/refunds",
        "custom": "x-custom://bucket/thing",
    }
    with create_session() as session:
        rows = {key: AssetModel(name=key, uri=uri, group="asset") for key, uri in declared.items()}
        session.add_all(rows.values())
        session.flush()
        session.add_all(AssetActive.for_asset(row) for row in rows.values())
        session.add_all(
            [
                AssetEvent(
                    asset_id=rows["orders"].id,
                    timestamp=datetime(2026, 11, 30, 10, 1, tzinfo=timezone.utc),
                    extra={
                        "openlineage": {
                            "parentJobNamespace": "spark-prod",
                            "parentJobName": "orders_load",
                            "parentRunId": "0193c000-0000-7000-8000-0000000000a1",
                        }
                    },
                ),
                AssetEvent(
                    asset_id=rows["orders"].id,
                    timestamp=datetime(2026, 11, 29, 10, 1, tzinfo=timezone.utc),
                    source_dag_id="orders_dag",
                    source_task_id="load",
                    source_run_id="scheduled__2026-11-29",
                    extra={},
                ),
            ]
        )
        session.flush()
        return {key: row.id for key, row in rows.items()}


def test_each_asset_names_the_dataset_its_uri_converts_to_in_any_spelling(catalog_api, assets):
    answer = catalog_api.get("api/v1/airflow/assets")
    assert answer.status_code == 200, answer.text
    by_name = {a["name"]: a for a in answer.json()["assets"]}
    assert by_name["orders"]["openLineage"] == {"namespace": PG, "name": "shop.public.orders"}
    assert by_name["orders"]["dataset"] == {"namespace": "postgresql://DB.example", "name": "shop.public.orders"}
    assert by_name["export"]["dataset"] == {"namespace": "file", "name": "/data/exports/orders.csv"}
    assert by_name["never_seen"]["openLineage"] is not None and by_name["never_seen"]["dataset"] is None
    assert by_name["custom"]["openLineage"] is None and by_name["custom"]["dataset"] is None
    assert all(a["active"] for a in by_name.values())
    unlinked = catalog_api.get("api/v1/airflow/assets", linked="false").json()
    assert {a["name"] for a in unlinked["assets"]} == {"never_seen", "custom"} and unlinked["totalCount"] == 2
    assert catalog_api.get("api/v1/airflow/assets", linked="true", limit=1).json()["totalCount"] == 2


def test_datasets_airflow_could_describe_that_no_asset_names_are_listed(catalog_api, assets):
    answer = catalog_api.get("api/v1/airflow/datasets-without-asset")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {"file", "postgres"} <= set(body["schemes"])
    assert {"namespace": PG, "name": "shop.public.customers"} in body["datasets"]
    listed = {(d["namespace"], d["name"]) for d in body["datasets"]}
    assert ("postgresql://DB.example", "shop.public.orders") not in listed
    assert ("file", "/data/exports/orders.csv") not in listed


def test_a_dataset_shows_its_asset_with_its_latest_events_and_the_run_that_wrote_it(catalog_api, assets):
    path = f"api/v1/namespaces/{quote(PG, safe='')}/datasets/shop.public.orders/airflow-assets"
    answer = catalog_api.get(path)
    assert answer.status_code == 200, answer.text
    (asset,) = answer.json()["assets"]
    assert asset["id"] == assets["orders"] and asset["uri"] == "postgres://db.example:5432/shop/public/orders"
    newest, older = asset["latestEvents"]
    assert newest["timestamp"] == "2026-11-30T10:01:00Z" and newest["sourceDagId"] is None
    assert newest["producingRun"] == {
        "job": {"namespace": "spark-prod", "name": "orders_load"},
        "runId": "0193c000-0000-7000-8000-0000000000a1",
    }
    assert (older["sourceDagId"], older["sourceTaskId"], older["producingRun"]) == ("orders_dag", "load", None)
    none = catalog_api.get(f"api/v1/namespaces/{quote(PG, safe='')}/datasets/shop.public.customers/airflow-assets")
    assert none.json() == {"assets": []}
    missing = catalog_api.get(f"api/v1/namespaces/{quote(PG, safe='')}/datasets/nothing/airflow-assets")
    assert missing.status_code == 404 and "nothing" in missing.json()["detail"]


def test_asset_links_are_read_with_read_access_only(catalog_api, assets):
    assert catalog_api.get("api/v1/airflow/assets", token="").status_code == 401
    assert catalog_api.get("api/v1/airflow/assets", token=catalog_api.create_token("ingest-only")).status_code == 403
    assert catalog_api.get("api/v1/airflow/assets", token=catalog_api.jwt("viewer")).status_code == 200
