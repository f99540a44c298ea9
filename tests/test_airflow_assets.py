"""Airflow's Assets ⇄ the catalog's datasets, on the catalog's app in process: Assets stored in
Airflow's database as the dag-processor and the scheduler store them, events sent to the catalog;
an Asset names the dataset the OpenLineage provider converts its URI to, in any spelling of its
namespace. (test_demo_dags.py shows the same with Assets real DAGs declare.)"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from test_events import run_event

PG = "postgres://db.example:5432"
AIRFLOW_NAMESPACE = "airflow-prod"  # where this Airflow's DAGs and tasks are jobs


@pytest.fixture(scope="module")
def catalog_api(migrated_airflow_db, tmp_path_factory):
    """The catalog in process, its Airflow's jobs in AIRFLOW_NAMESPACE."""
    from inprocess import InProcessCatalog

    home = tmp_path_factory.mktemp("airflow-home")
    api = InProcessCatalog(home, migrated_airflow_db, airflow_namespaces=f" {AIRFLOW_NAMESPACE} ,").start()
    try:
        yield api
    finally:
        api.stop()


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
    assert none.json()["assets"] == []
    missing = catalog_api.get(f"api/v1/namespaces/{quote(PG, safe='')}/datasets/nothing/airflow-assets")
    assert missing.status_code == 404 and "nothing" in missing.json()["detail"]


def test_asset_links_are_read_with_read_access_only(catalog_api, assets):
    assert catalog_api.get("api/v1/airflow/assets", token="").status_code == 401
    assert catalog_api.get("api/v1/airflow/assets", token=catalog_api.create_token("ingest-only")).status_code == 403
    assert catalog_api.get("api/v1/airflow/assets", token=catalog_api.jwt("viewer")).status_code == 200


# --- asset events from observed lineage ------------------------------------------------------------

WRITER = {"namespace": "spark-prod", "name": "orders_rebuild", "facets": {}}


def _write(catalog_api, run_id: str, event_type: str = "COMPLETE", at: str = "2026-12-01T06:00:00Z", **output):
    partition = {"type": "partition", "partitions": [{"dimensions": {"day": "2026-12-01"}}]}
    subset = {
        "_producer": "https://example.com/spark",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetDatasetFacet",
        "outputCondition": partition,
    }
    target = {"namespace": "postgresql://DB.example", "name": "shop.public.orders", "outputFacets": {"subset": subset}}
    payload = run_event(
        eventType=event_type,
        eventTime=at,
        run={"runId": run_id, "facets": {}},
        job=WRITER,
        outputs=[target | output],
    )
    answer = catalog_api.send(payload)
    assert answer.status_code == 201, answer.text


def _writes(catalog_api, name: str = "shop.public.orders", settled: bool = True, ns: str = PG) -> dict:
    path = f"api/v1/namespaces/{quote(ns, safe='')}/datasets/{quote(name, safe='')}/airflow-assets"
    deadline = time.monotonic() + 20
    while True:
        body = catalog_api.get(path).json()
        if not settled or all(w["state"] not in ("pending", "emitting") for w in body["catalogWrites"]):
            return body
        assert time.monotonic() < deadline, body["catalogWrites"]
        time.sleep(0.1)


def _events_of(asset_id: int) -> list:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            (e.extra, e.partition_key)
            for e in session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset_id).order_by(AssetEvent.id))
        ]


def test_only_an_airflow_login_allowed_to_create_asset_events_marks_datasets(catalog_api, assets):
    body = {"namespace": PG, "name": "shop.public.*"}
    assert catalog_api.request("POST", "api/v1/airflow/asset-triggers", "", json=body).status_code == 401
    admin_token = catalog_api.create_token("marker-admin", admin=True)
    assert catalog_api.request("POST", "api/v1/airflow/asset-triggers", admin_token, json=body).status_code == 403
    assert (
        catalog_api.request("POST", "api/v1/airflow/asset-triggers", catalog_api.jwt("viewer"), json=body).status_code
        == 403
    )
    empty = catalog_api.request(
        "POST", "api/v1/airflow/asset-triggers", catalog_api.jwt("admin"), json=body | {"name": " "}
    )
    assert empty.status_code == 422 and empty.json()["detail"].startswith("body.name: "), empty.text


def test_a_write_by_any_producer_to_a_marked_dataset_makes_one_asset_event_per_run(catalog_api, assets):
    admin = catalog_api.jwt("admin")
    marked = catalog_api.request(
        "POST", "api/v1/airflow/asset-triggers", admin, json={"namespace": PG, "name": "shop.public.*"}
    )
    assert marked.status_code == 201, marked.text
    again = catalog_api.request(
        "POST", "api/v1/airflow/asset-triggers", admin, json={"namespace": PG, "name": "shop.public.*"}
    )
    assert again.status_code == 409
    before = len(_events_of(assets["orders"]))
    run_id = "0193c000-0000-7000-8000-0000000000b1"
    _write(catalog_api, run_id, "START", "2026-12-01T05:00:00Z")
    _write(catalog_api, run_id, "FAIL", "2026-12-01T05:30:00Z")  # a failed attempt writes nothing
    assert _writes(catalog_api)["catalogWrites"] == []
    _write(catalog_api, run_id)
    _write(catalog_api, run_id)  # the same event again
    _write(catalog_api, run_id, at="2026-12-01T06:00:05Z")  # and a retry of the COMPLETE
    body = _writes(catalog_api)
    assert [w["state"] for w in body["catalogWrites"]] == ["created"]
    (write,) = body["catalogWrites"]
    assert write["job"] == {"namespace": "spark-prod", "name": "orders_rebuild"} and write["runId"] == run_id
    assert write["partitionKey"] == "day=2026-12-01" and write["assetIds"] == [assets["orders"]]
    assert [t["name"] for t in body["watchedBy"]] == ["shop.public.*"]
    made = _events_of(assets["orders"])[before:]
    assert len(made) == 1
    extra, partition_key = made[0]
    assert extra["openlineage"] == {
        "parentJobNamespace": "spark-prod",
        "parentJobName": "orders_rebuild",
        "parentRunId": run_id,
    }
    assert partition_key == "day=2026-12-01"
    # the dataset page's Asset shows the event, with the run that wrote the data
    (asset,) = body["assets"]
    assert asset["latestEvents"][0]["producingRun"] == {
        "job": WRITER | {"facets": None} and {"namespace": "spark-prod", "name": "orders_rebuild"},
        "runId": run_id,
    }


def test_a_write_to_a_marked_dataset_no_asset_names_is_kept_as_such(catalog_api, assets):
    payload = run_event(
        eventType="COMPLETE",
        eventTime="2026-12-01T07:00:00Z",
        run={"runId": "0193c000-0000-7000-8000-0000000000c1", "facets": {}},
        job=WRITER,
        outputs=[{"namespace": PG, "name": "shop.public.customers"}],
    )
    assert catalog_api.send(payload).status_code == 201
    (write,) = _writes(catalog_api, "shop.public.customers")["catalogWrites"]
    assert write["state"] == "no_asset" and write["assetIds"] == []


def test_the_replay_sweep_makes_what_an_api_server_left_queued(catalog_api, assets):
    """A write queued by a server that stopped before making its asset event (the row is written
    here as the ingest transaction writes it): the admin route the replay DAG calls makes it."""
    from sqlalchemy import select

    from airflow_ol_catalog.store.engine import write_transaction
    from airflow_ol_catalog.store.sql import utcnow
    from airflow_ol_catalog.store.tables import asset_trigger_run, dataset

    before = len(_events_of(assets["orders"]))
    with write_transaction() as conn:
        orders = conn.execute(select(dataset.c.id).where(dataset.c.name == "shop.public.orders")).scalar_one()
        conn.execute(
            asset_trigger_run.insert().values(
                dataset_id=orders,
                run_id="0193c000-0000-7000-8000-0000000000d1",
                job_namespace="spark-prod",
                job_name="orders_rebuild",
                event_time=utcnow(),
                state="pending",
                queued_at=utcnow(),
            )
        )
    reader = catalog_api.create_token("sweep-reader", read=True)
    assert catalog_api.request("POST", "api/v1/admin/asset-triggers/emit", reader).status_code == 403
    swept = catalog_api.request(
        "POST", "api/v1/admin/asset-triggers/emit", catalog_api.create_token("sweeper", admin=True)
    )
    assert swept.status_code == 200, swept.text
    assert swept.json() == {"created": 1, "events": 1, "noAsset": 0, "declared": 0, "failed": []}
    assert len(_events_of(assets["orders"])) == before + 1
    again = catalog_api.request("POST", "api/v1/admin/asset-triggers/emit", catalog_api.jwt("admin"))
    assert again.json()["created"] == 0  # made once


def test_an_unmarked_dataset_stops_triggering(catalog_api, assets):
    admin = catalog_api.jwt("admin")
    marks = catalog_api.get("api/v1/airflow/asset-triggers").json()["triggers"]
    (mark,) = [m for m in marks if m["name"] == "shop.public.*"]
    assert mark["createdBy"] == "user:admin"
    removed = catalog_api.request("DELETE", f"api/v1/airflow/asset-triggers/{mark['id']}", admin)
    assert removed.status_code == 200 and removed.json() == mark
    assert catalog_api.request("DELETE", f"api/v1/airflow/asset-triggers/{mark['id']}", admin).status_code == 404
    # ids past the databases' 64-bit integers are refused, naming the parameter, as zero and negatives are
    for bad in (2**63, -1, 0, 10**30):
        for method, path, name in (
            ("DELETE", "api/v1/airflow/asset-triggers", "trigger_id"),
            ("GET", "api/v1/airflow/assets", "asset_id"),
        ):
            answer = catalog_api.request(method, f"{path}/{bad}", admin)
            assert answer.status_code == 422 and name in answer.json()["detail"], answer.text
    assert catalog_api.request("GET", f"api/v1/airflow/assets/{2**63 - 1}", admin).status_code == 404
    before = len(_events_of(assets["orders"]))
    _write(catalog_api, "0193c000-0000-7000-8000-0000000000e1")
    assert "0193c000-0000-7000-8000-0000000000e1" not in {w["runId"] for w in _writes(catalog_api)["catalogWrites"]}
    assert len(_events_of(assets["orders"])) == before


# --- an Airflow DAG run's trace ---------------------------------------------------------------------


def _facet(**fields) -> dict:
    return {
        "_producer": "https://example.com/airflow",
        "_schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet",
    } | fields


def _run(catalog_api, run_id: str, job: str, minute: int, facets: dict, event_type: str = "COMPLETE", **io) -> None:
    for kind, at in (("START", minute), (event_type, minute + 1)):
        payload = run_event(
            eventType=kind,
            eventTime=f"2026-12-01T08:{at:02d}:00Z",
            run={"runId": run_id, "facets": facets},
            job={"namespace": AIRFLOW_NAMESPACE, "name": job, "facets": {}},
            **io,
        )
        assert catalog_api.send(payload).status_code == 201


def test_a_dag_runs_trace_holds_its_tasks_the_runs_they_started_and_the_runs_around_it(catalog_api):
    dag_run, task, spark = (f"0193d000-0000-7000-8000-00000000000{i}" for i in (1, 2, 3))
    upstream_run, downstream_dag_run = "0193d000-0000-7000-8000-000000000009", "0193d000-0000-7000-8000-00000000000a"
    parent_is = lambda rid, job: {"parent": _facet(run={"runId": rid}, job={"namespace": "airflow-prod", "name": job})}  # noqa: E731
    waited_for = _facet(
        upstream=[
            {
                "job": {"namespace": "spark-prod", "name": "orders_rebuild"},
                "run": {"runId": upstream_run},
                "dependency_type": "IMPLICIT_ASSET_DEPENDENCY",
            }
        ]
    )
    dag_facets = {
        "airflowDagRun": _facet(dag={"dag_id": "sales"}, dagRun={"dag_id": "sales", "run_id": "asset_triggered__1"}),
        "jobDependencies": waited_for,
    }
    _run(catalog_api, dag_run, "sales", 0, dag_facets)
    _run(
        catalog_api,
        task,
        "sales.load",
        1,
        parent_is(dag_run, "sales"),
        outputs=[{"namespace": PG, "name": "shop.public.sales"}],
    )
    _run(
        catalog_api,
        spark,
        "sales.load.spark_job",
        2,
        parent_is(task, "sales.load"),
        "FAIL",
        inputs=[{"namespace": "s3://lake", "name": "raw/sales"}],
    )
    later = {
        "airflowDagRun": _facet(dag={"dag_id": "report"}, dagRun={"dag_id": "report", "run_id": "asset_triggered__2"}),
        "jobDependencies": _facet(
            upstream=[{"job": {"namespace": "airflow-prod", "name": "sales.load"}, "run": {"runId": task}}]
        ),
    }
    _run(catalog_api, downstream_dag_run, "report", 5, later)

    answer = catalog_api.get("api/v1/airflow/dag-runs/sales/asset_triggered__1/trace")
    assert answer.status_code == 200, answer.text
    trace = answer.json()
    assert trace["runId"] == dag_run and trace["startedAt"] == "2026-12-01T08:00:00Z"
    runs = {r["job"]["name"]: r for r in trace["runs"]}
    assert set(runs) == {"sales", "sales.load", "sales.load.spark_job"}
    assert runs["sales.load"]["parentRunId"] == dag_run and runs["sales.load.spark_job"]["parentRunId"] == task
    assert runs["sales.load.spark_job"]["state"] == "FAILED" and runs["sales.load"]["durationMs"] == 60_000
    assert runs["sales.load"]["outputs"] == [{"namespace": PG, "name": "shop.public.sales"}]
    assert runs["sales.load.spark_job"]["inputs"] == [{"namespace": "s3://lake", "name": "raw/sales"}]
    assert trace["upstream"] == [
        {
            "job": {"namespace": "spark-prod", "name": "orders_rebuild"},
            "runId": upstream_run,
            "dependencyType": "IMPLICIT_ASSET_DEPENDENCY",
        }
    ]
    (after,) = trace["downstream"]
    assert (after["runId"], after["after"], after["airflow"]) == (
        downstream_dag_run,
        [task],
        {"dagId": "report", "dagRunId": "asset_triggered__2"},
    )
    missing = catalog_api.get("api/v1/airflow/dag-runs/sales/manual__nothing/trace")
    assert missing.status_code == 404 and "manual__nothing" in missing.json()["detail"]


def test_a_producer_of_another_namespace_cannot_stand_in_for_a_dag_run(catalog_api):
    """A token limited to namespace `intruder` sends a newer run of a job named as the DAG, whose
    `airflowDagRun` facet names the DAG run, and a run that names the DAG run's task upstream. The
    trace took the newest such run of any namespace, and its DAG tab the first namespace holding a
    job of the DAG's name: the DAG run's Lineage tab showed the intruder's runs. Only this
    Airflow's namespaces (`[ol_catalog] airflow_namespaces`, spaces and empty entries ignored) are
    read now, and the UI is told which they are."""
    intruder = catalog_api.create_token("intruder", ["intruder"])
    dag_run = "0193e000-0000-7000-8000-000000000001"
    facets = {"airflowDagRun": _facet(dag={"dag_id": "billing"}, dagRun={"dag_id": "billing", "run_id": "manual__1"})}
    _run(catalog_api, dag_run, "billing", 0, facets)
    task = "0193e000-0000-7000-8000-000000000002"
    parent = {"parent": _facet(run={"runId": dag_run}, job={"namespace": AIRFLOW_NAMESPACE, "name": "billing"})}
    _run(catalog_api, task, "billing.load", 0, parent)
    fake = {
        "airflowDagRun": facets["airflowDagRun"],
        "jobDependencies": _facet(
            upstream=[{"job": {"namespace": AIRFLOW_NAMESPACE, "name": "billing.load"}, "run": {"runId": task}}]
        ),
    }
    for kind, minute in (("START", 30), ("COMPLETE", 31)):
        payload = run_event(
            eventType=kind,
            eventTime=f"2026-12-01T08:{minute:02d}:00Z",
            run={"runId": "0193e000-0000-7000-8000-0000000000ff", "facets": fake},
            job={"namespace": "intruder", "name": "billing", "facets": {}},
        )
        assert catalog_api.send(payload, token=intruder).status_code == 201
    trace = catalog_api.get("api/v1/airflow/dag-runs/billing/manual__1/trace").json()
    assert trace["runId"] == dag_run and {r["job"]["namespace"] for r in trace["runs"]} == {AIRFLOW_NAMESPACE}
    assert trace["downstream"] == []
    assert catalog_api.get("api/v1/airflow/namespaces").json() == {"namespaces": [AIRFLOW_NAMESPACE]}
    assert catalog_api.get("api/v1/airflow/namespaces", token="").status_code == 401


def test_assets_naming_one_dataset_in_several_spellings_each_name_it_and_each_get_its_events(catalog_api, assets):
    """Three Assets name one table, two spelled as the dataset was sent (the second no longer
    declared: Airflow keeps it, inactive), one with the host in capitals: the first two showed no
    dataset (one spelling was kept per dataset), and a write made an asset event of one of the
    first two only (one Asset was kept per name)."""
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session

    twins_table = [{"namespace": PG, "name": "shop.public.twins"}]
    _write_of(catalog_api, "0193e000-0000-7000-8000-0000000000a1", twins_table, at="2026-12-01T09:00:00Z")
    with create_session() as session:
        rows = [
            AssetModel(name=f"twin_{i}", uri=f"postgres://{host}:5432/shop/public/twins", group="asset")
            for i, host in enumerate(("db.example", "DB.EXAMPLE", "db.example"))
        ]
        session.add_all(rows)
        session.flush()
        session.add_all(AssetActive.for_asset(row) for row in rows[:2])
        session.flush()
        twins = [row.id for row in rows]
    answer = catalog_api.get("api/v1/airflow/assets", linked="true").json()
    named = {a["name"]: a["dataset"] for a in answer["assets"] if a["name"].startswith("twin_")}
    assert named == {f"twin_{i}": {"namespace": PG, "name": "shop.public.twins"} for i in (0, 1, 2)}
    marked = catalog_api.request(
        "POST",
        "api/v1/airflow/asset-triggers",
        catalog_api.jwt("admin"),
        json={"namespace": PG, "name": "shop.public.twins"},
    )
    assert marked.status_code == 201, marked.text
    before = [len(_events_of(twin)) for twin in twins]
    _write_of(catalog_api, "0193e000-0000-7000-8000-0000000000a2", twins_table, at="2026-12-01T10:00:00Z")
    (write,) = _writes(catalog_api, "shop.public.twins")["catalogWrites"]
    assert write["state"] == "created" and sorted(write["assetIds"]) == sorted(twins)
    assert [len(_events_of(twin)) for twin in twins] == [n + 1 for n in before]


def _marked_table_with_asset(catalog_api, table: str) -> int:
    """An active Asset named `table` for the table shop.public.`table`, marked; the Asset's id."""
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = AssetModel(name=table, uri=f"postgres://db.example:5432/shop/public/{table}", group="asset")
        session.add(row)
        session.flush()
        session.add(AssetActive.for_asset(row))
        session.flush()
        asset_id = row.id
    body = {"namespace": PG, "name": f"shop.public.{table}"}
    marked = catalog_api.request("POST", "api/v1/airflow/asset-triggers", catalog_api.jwt("admin"), json=body)
    assert marked.status_code == 201, marked.text
    return asset_id


def _write_of(
    catalog_api,
    run_id: str,
    outputs: list[dict],
    event_type: str = "COMPLETE",
    at: str = "2026-12-01T12:00:00Z",
    job: dict = WRITER,
    token: str | None = None,
) -> None:
    """Send a run's event that says it wrote `outputs`; it must be accepted."""
    payload = run_event(
        eventType=event_type, eventTime=at, run={"runId": run_id, "facets": {}}, job=job, outputs=outputs
    )
    answer = catalog_api.send(payload, token=token)
    assert answer.status_code == 201, answer.text


def test_only_a_run_that_ends_complete_triggers_and_each_jobs_run_counts_on_its_own(catalog_api, assets):
    """A run whose FAIL (10:00) came before its COMPLETE (09:00) is FAILED: its late COMPLETE made
    an asset event all the same. A run of another job reusing a run id (unique per job only) kept
    the real write from being queued, and a run id longer than 36 characters did not fit the queue."""
    asset_id = _marked_table_with_asset(catalog_api, "late")

    late = [{"namespace": PG, "name": "shop.public.late"}]

    def write(job: dict, run_id: str, event_type: str, at: str, token: str | None = None) -> None:
        _write_of(catalog_api, run_id, late, event_type, at, job, token)

    failed = "0193f000-0000-7000-8000-0000000000f1"
    write(WRITER, failed, "FAIL", "2026-12-01T10:00:00Z")
    write(WRITER, failed, "COMPLETE", "2026-12-01T09:00:00Z")  # late: the run stays FAILED
    assert _writes(catalog_api, "shop.public.late")["catalogWrites"] == [] and _events_of(asset_id) == []
    shared = "0193f000-0000-7000-8000-0000000000f2"
    squatter = {"namespace": "team-a", "name": "squatter", "facets": {}}
    write(squatter, shared, "COMPLETE", "2026-12-01T11:00:00Z", catalog_api.create_token("team-a", ["team-a"]))
    write(WRITER, shared, "COMPLETE", "2026-12-01T11:05:00Z")
    long_id = "dbt-run-" + "x" * 200
    write(WRITER, long_id, "COMPLETE", "2026-12-01T12:00:00Z")
    writes = _writes(catalog_api, "shop.public.late")["catalogWrites"]
    assert sorted((w["job"]["name"], w["runId"], w["state"]) for w in writes) == [
        ("orders_rebuild", shared, "created"),
        ("orders_rebuild", long_id, "created"),
        ("squatter", shared, "created"),
    ]
    assert len(_events_of(asset_id)) == 3


def test_every_write_of_a_large_batch_makes_its_asset_event(catalog_api, assets):
    """250 runs in one batch write a marked dataset: the asset events of the first 200 were made
    and the rest waited for the next write to a marked dataset, or the hourly replay DAG."""
    import json

    asset_id = _marked_table_with_asset(catalog_api, "many")
    batch = [
        run_event(
            eventType="COMPLETE",
            eventTime="2026-12-01T13:00:00Z",
            run={"runId": f"0193f100-0000-7000-8000-{i:012x}", "facets": {}},
            job=WRITER,
            outputs=[{"namespace": PG, "name": "shop.public.many"}],
        )
        for i in range(250)
    ]
    answer = catalog_api.post(json.dumps(batch), path="api/v1/lineage/batch")
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 30
    while len(_events_of(asset_id)) < 250:
        assert time.monotonic() < deadline, len(_events_of(asset_id))
        time.sleep(0.2)
    assert {w["state"] for w in _writes(catalog_api, "shop.public.many")["catalogWrites"]} == {"created"}


def test_a_mark_made_for_one_dataset_matches_that_dataset_only_whatever_its_name_holds(catalog_api, assets):
    """The dataset page's button sent the dataset's names as globs: `rep[1].csv` and an IPv6 host's
    `[::1]` then matched nothing (a character class), `star*.csv` matched `starry.csv` too, and the
    page offered the button again on a 409. With `exact`, each character stands for itself, and the
    page is told which mark names the dataset alone."""
    admin = catalog_api.jwt("admin")
    names = [("file", "/data/rep[1].csv"), ("file", "/data/star*.csv"), ("file", "/data/starry.csv")]
    names.append(("postgres://[::1]:5432", "shop.public.t6"))

    def complete(run_id: str) -> None:
        _write_of(
            catalog_api, run_id, [{"namespace": ns, "name": name} for ns, name in names], at="2026-12-01T14:00:00Z"
        )

    def page(ns: str, name: str) -> dict:
        return _writes(catalog_api, name, ns=ns)

    complete("0193f200-0000-7000-8000-000000000001")
    marks = {}
    for ns, name in (names[0], names[1], names[3]):
        body = {"namespace": ns, "name": name, "exact": True}
        made = catalog_api.request("POST", "api/v1/airflow/asset-triggers", admin, json=body)
        assert made.status_code == 201, made.text
        marks[name] = made.json()["id"]
        assert catalog_api.request("POST", "api/v1/airflow/asset-triggers", admin, json=body).status_code == 409
    stored = {
        t["id"]: (t["namespace"], t["name"])
        for t in catalog_api.get("api/v1/airflow/asset-triggers").json()["triggers"]
    }
    assert stored[marks["/data/rep[1].csv"]] == ("file", "/data/rep[[]1].csv")  # as a glob writes it
    assert stored[marks["shop.public.t6"]] == ("postgres://[[]::1]:5432", "shop.public.t6")
    complete("0193f200-0000-7000-8000-000000000002")
    for ns, name in names:
        shown = page(ns, name)
        if name == "/data/starry.csv":
            assert shown["watchedBy"] == [] and shown["exactTrigger"] is None and shown["catalogWrites"] == []
            continue
        assert [t["id"] for t in shown["watchedBy"]] == [marks[name]] and shown["exactTrigger"] == marks[name]
        assert [w["runId"] for w in shown["catalogWrites"]] == ["0193f200-0000-7000-8000-000000000002"]
    # another spelling of a known dataset's namespace finds the mark it has already
    respelled = {"namespace": "postgresql://[::1]:5432/", "name": "shop.public.t6", "exact": True}
    again = catalog_api.request("POST", "api/v1/airflow/asset-triggers", admin, json=respelled)
    assert again.status_code == 409, again.text
    # a name that fits, but not once escaped: refused naming the field and why
    crowded = {"namespace": "file", "name": "/d/" + "*" * 400 + "x" * 500, "exact": True}
    refused = catalog_api.request("POST", "api/v1/airflow/asset-triggers", admin, json=crowded)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("body.name: marked alone"), refused.text


def test_a_run_of_another_namespace_with_the_dag_runs_id_takes_no_part_in_its_trace(catalog_api):
    """A run id names one run per job: an intruder's run sent first with the DAG run's id (they
    can be predicted) was the run the trace's tree grew from, and lent the DAG run its outputs."""
    intruder = catalog_api.create_token("intruder-2", ["intruder"])
    dag_run = "0193e000-0000-7000-8000-0000000000c1"
    planted = run_event(
        eventType="COMPLETE",
        eventTime="2026-12-01T07:00:00Z",
        run={"runId": dag_run, "facets": {}},
        job={"namespace": "intruder", "name": "ledger", "facets": {}},
        outputs=[{"namespace": "s3://intruder", "name": "planted"}],
    )
    assert catalog_api.send(planted, token=intruder).status_code == 201
    facets = {"airflowDagRun": _facet(dag={"dag_id": "ledger"}, dagRun={"dag_id": "ledger", "run_id": "manual__7"})}
    _run(catalog_api, dag_run, "ledger", 10, facets, outputs=[{"namespace": "s3://real", "name": "ledger"}])
    trace = catalog_api.get("api/v1/airflow/dag-runs/ledger/manual__7/trace").json()
    assert [(r["job"]["namespace"], r["outputs"]) for r in trace["runs"]] == [
        (AIRFLOW_NAMESPACE, [{"namespace": "s3://real", "name": "ledger"}])
    ]


def test_writes_whose_events_fail_hold_up_none_queued_after_them(catalog_api, assets, monkeypatch):
    """210 waiting writes whose asset events fail, then 40 more: a batch of failures stopped the
    sweep before the 40, at every call, for good. Those after them are made; the failed stay."""
    from sqlalchemy import select

    from airflow_ol_catalog.airflow_integration import asset_events
    from airflow_ol_catalog.store.engine import get_engine, write_transaction
    from airflow_ol_catalog.store.sql import utcnow
    from airflow_ol_catalog.store.tables import asset_trigger_run, dataset

    asset_id = _marked_table_with_asset(catalog_api, "queue")
    queue = [{"namespace": PG, "name": "shop.public.queue"}]
    _write_of(catalog_api, "0193f300-0000-7000-8000-000000000000", queue, "START", "2026-12-01T15:00:00Z")
    with write_transaction() as conn:
        table = conn.execute(select(dataset.c.id).where(dataset.c.name == "shop.public.queue")).scalar_one()
        conn.execute(
            asset_trigger_run.insert(),
            [
                {
                    "dataset_id": table,
                    "run_id": f"queued-{i:03d}",
                    "job_namespace": "spark-prod",
                    "job_name": "orders_rebuild",
                    "event_time": utcnow(),
                    "state": "pending",
                    "queued_at": utcnow(),
                }
                for i in range(250)
            ],
        )
    register = asset_events._register

    def failing_first(session, asset, extra, partition_key):
        if int(extra["openlineage"]["parentRunId"].split("-")[1]) < 210:
            raise RuntimeError("Airflow refused the asset event")
        return register(session, asset, extra, partition_key)

    monkeypatch.setattr(asset_events, "_register", failing_first)
    done = asset_events.emit_waiting(get_engine())
    assert (done.created, len(done.failed)) == (40, 210)
    assert len(_events_of(asset_id)) == 40


def test_a_write_to_a_name_that_stands_for_a_marked_dataset_triggers(catalog_api, assets):
    """Spark writes a warehouse path that a symlinks facet made a name of a marked table: the mark
    was matched against the name as sent only, and the write triggered nothing. Nor did a write by
    the table's name when a mark matched the path's."""
    table = {"namespace": "hive://ms", "name": "db.orders", "type": "TABLE"}
    path = {"namespace": "s3://lake", "name": "wh/orders"}

    def complete(run_id: str, output: dict) -> None:
        _write_of(catalog_api, run_id, [output], at="2026-12-01T16:00:00Z")

    symlinks = {"symlinks": {"identifiers": [table]}}
    complete("0193f400-0000-7000-8000-000000000001", path | {"facets": symlinks})
    body = {"namespace": "hive://ms", "name": "db.orders", "exact": True}
    assert (
        catalog_api.request("POST", "api/v1/airflow/asset-triggers", catalog_api.jwt("admin"), json=body).status_code
        == 201
    )
    complete("0193f400-0000-7000-8000-000000000002", path)
    writes = _writes(catalog_api, "db.orders", ns="hive://ms")["catalogWrites"]
    assert [w["runId"] for w in writes] == ["0193f400-0000-7000-8000-000000000002"]
    # and the reverse: a mark of the path's names counts for a write by the table's name
    items_table = {"namespace": "hive://ms", "name": "db.items", "type": "TABLE"}
    complete(
        "0193f400-0000-7000-8000-000000000003",
        {"namespace": "s3://lake", "name": "wh/items", "facets": {"symlinks": {"identifiers": [items_table]}}},
    )
    glob = {"namespace": "s3://lake", "name": "wh/*"}
    assert (
        catalog_api.request("POST", "api/v1/airflow/asset-triggers", catalog_api.jwt("admin"), json=glob).status_code
        == 201
    )
    complete("0193f400-0000-7000-8000-000000000004", {"namespace": "hive://ms", "name": "db.items"})
    writes = _writes(catalog_api, "db.items", ns="hive://ms")["catalogWrites"]
    assert [w["runId"] for w in writes] == ["0193f400-0000-7000-8000-000000000004"]


def test_a_write_named_only_by_the_runs_other_events_triggers_once_it_completes(catalog_api, assets):
    """OpenLineage adds up a run's outputs: START or RUNNING may name the write and the COMPLETE
    none. In order (START with the output, then COMPLETE without) and out of order (COMPLETE
    first, the START naming the output after it), the run's write makes one asset event; a run
    that failed makes none."""
    asset_id = _marked_table_with_asset(catalog_api, "named_early")
    target = [{"namespace": PG, "name": "shop.public.named_early"}]
    in_order, out_of_order, failed = (f"0193f000-0000-7000-8000-00000000e{n:03x}" for n in range(3))
    _write_of(catalog_api, in_order, target, "START", "2026-12-01T06:00:00Z")
    _write_of(catalog_api, in_order, target, "RUNNING", "2026-12-01T06:01:00Z")
    _write_of(catalog_api, in_order, [], "COMPLETE", "2026-12-01T06:02:00Z")
    _write_of(catalog_api, out_of_order, [], "COMPLETE", "2026-12-01T07:02:00Z")
    _write_of(catalog_api, out_of_order, target, "START", "2026-12-01T07:00:00Z")
    _write_of(catalog_api, failed, target, "START", "2026-12-01T08:00:00Z")
    _write_of(catalog_api, failed, [], "FAIL", "2026-12-01T08:02:00Z")
    writes = _writes(catalog_api, "shop.public.named_early")["catalogWrites"]
    assert sorted((w["runId"], w["state"]) for w in writes) == [(in_order, "created"), (out_of_order, "created")]
    assert len(_events_of(asset_id)) == 2
    _write_of(catalog_api, in_order, target, "COMPLETE", "2026-12-01T06:02:00Z")  # a duplicate adds nothing
    assert len(_writes(catalog_api, "shop.public.named_early")["catalogWrites"]) == 2
    assert len(_events_of(asset_id)) == 2


def _task_facets(dag_id: str, dag_run_id: str, task_id: str, map_index: int = -1, try_number: int = 1) -> dict:
    return {
        "airflow": _facet(
            dag={"dag_id": dag_id},
            dagRun={"dag_id": dag_id, "run_id": dag_run_id},
            task={"task_id": task_id},
            taskInstance={"map_index": map_index, "try_number": try_number},
        )
    }


def test_a_task_instance_finds_its_run_however_many_runs_came_after_and_whatever_its_dots(catalog_api):
    """The OpenLineage tab read the job's newest 200 runs (a DAG run older than that said nothing
    arrived), found the job by a search other jobs could crowd out, and took a run of another DAG
    whose DAG.TASK spelled the same job name (DAG `coll`, task `grp.t`; DAG `coll.grp`, task `t`).
    The server now finds the run by its `airflow` facet: DAG, DAG run, task and map index."""
    route = "api/v1/airflow/task-instances/{}/{}/{}/run"
    newer = [
        run_event(
            eventType="COMPLETE",
            eventTime=f"2026-12-02T{n // 60:02d}:{n % 60:02d}:00Z",
            run={"runId": f"0193f100-0000-7000-8000-{n:012x}", "facets": _task_facets("synth", f"run_{n}", "t")},
            job={"namespace": AIRFLOW_NAMESPACE, "name": "synth.t", "facets": {}},
        )
        for n in range(1, 206)
    ]
    oldest = run_event(
        eventType="COMPLETE",
        eventTime="2026-12-01T00:00:00Z",
        run={"runId": "0193f100-0000-7000-8000-000000000000", "facets": _task_facets("synth", "old_run", "t")},
        job={"namespace": AIRFLOW_NAMESPACE, "name": "synth.t", "facets": {}},
    )
    assert catalog_api.send(oldest).status_code == 201
    assert catalog_api.post(json.dumps(newer), path="api/v1/lineage/batch").status_code == 200
    found = catalog_api.get(route.format("synth", "old_run", "t")).json()
    assert (found["namespace"], found["job"], found["run"]["id"]) == (
        AIRFLOW_NAMESPACE,
        "synth.t",
        "0193f100-0000-7000-8000-000000000000",
    )
    assert catalog_api.get(route.format("synth", "no_such_run", "t")).json() == {
        "namespace": None,
        "job": None,
        "run": None,
    }

    scheduled = "scheduled__2026-12-01T00:00:00+00:00"
    _run(catalog_api, "0193f100-0000-7000-8000-0000000a0001", "coll.grp.t", 0, _task_facets("coll", scheduled, "grp.t"))
    _run(catalog_api, "0193f100-0000-7000-8000-0000000a0002", "coll.grp.t", 2, _task_facets("coll.grp", scheduled, "t"))
    for dag, task, run_id in (("coll", "grp.t", "0001"), ("coll.grp", "t", "0002")):
        answer = catalog_api.get(route.format(dag, quote(scheduled, safe=""), task)).json()
        assert answer["run"]["id"] == f"0193f100-0000-7000-8000-0000000a{run_id}", (dag, task)
    mapped = "0193f100-0000-7000-8000-0000000b0003"
    _run(catalog_api, mapped, "mapped.t", 4, _task_facets("mapped", "manual__1", "t", 3))
    assert catalog_api.get(route.format("mapped", "manual__1", "t"), mapIndex=3).json()["run"]["id"] == mapped
    assert catalog_api.get(route.format("mapped", "manual__1", "t"), mapIndex=2).json()["run"] is None

    # the second try's run arrives first (from a spool, say): the tab shows the latest try
    second, first = "0193f100-0000-7000-8000-0000000d0002", "0193f100-0000-7000-8000-0000000d0001"
    _run(catalog_api, second, "retried.t", 6, _task_facets("retried", "manual__1", "t", try_number=2))
    _run(catalog_api, first, "retried.t", 4, _task_facets("retried", "manual__1", "t", try_number=1), "FAIL")
    assert catalog_api.get(route.format("retried", "manual__1", "t")).json()["run"]["id"] == second

    intruder = catalog_api.create_token("task-intruder", ["intruder"])
    stand_in = run_event(
        eventType="COMPLETE",
        eventTime="2026-12-03T00:00:00Z",
        run={"runId": "0193f100-0000-7000-8000-0000000c0001", "facets": _task_facets("lonely", "manual__1", "t")},
        job={"namespace": "intruder", "name": "lonely.t", "facets": {}},
    )
    assert catalog_api.send(stand_in, token=intruder).status_code == 201
    assert catalog_api.get(route.format("lonely", "manual__1", "t")).json()["run"] is None
    assert catalog_api.get("api/v1/airflow/dags/lonely/namespaces").json() == {"namespaces": []}
    assert catalog_api.get("api/v1/airflow/dags/synth.t/namespaces").json() == {"namespaces": [AIRFLOW_NAMESPACE]}


def test_a_replayed_write_to_a_marked_dataset_triggers_at_once(catalog_api, assets):
    """A write whose namespace was hidden waits in quarantine; replayed once the namespace is back,
    its asset event is made by the replay, not an hour later by the sweep."""
    asset_id = _marked_table_with_asset(catalog_api, "replayed")
    target = [{"namespace": PG, "name": "shop.public.replayed"}]
    team = {"namespace": "comeback-team", "name": "loader", "facets": {}}
    _write_of(catalog_api, "0193f200-0000-7000-8000-000000000001", [], "COMPLETE", "2026-12-01T05:00:00Z", team)
    admin = catalog_api.jwt("admin")
    assert catalog_api.request("DELETE", "api/v1/namespaces/comeback-team", admin).status_code == 200
    _write_of(catalog_api, "0193f200-0000-7000-8000-000000000002", target, "COMPLETE", "2026-12-01T06:00:00Z", team)
    assert _events_of(asset_id) == []  # quarantined: not in the catalog yet
    assert catalog_api.request("POST", "api/v1/namespaces/comeback-team/restore", admin).status_code == 200
    replay = catalog_api.request("POST", "api/v1/admin/quarantine/replay", admin, json={"namespace": "comeback-team"})
    assert replay.json()["total"] == 1, replay.text
    writes = _writes(catalog_api, "shop.public.replayed")["catalogWrites"]  # settled: waits for the emitting task
    assert [(w["runId"], w["state"]) for w in writes] == [("0193f200-0000-7000-8000-000000000002", "created")]
    assert len(_events_of(asset_id)) == 1


def test_a_write_is_queued_with_what_the_runs_complete_says_in_either_order(catalog_api, assets):
    """START names the output (with a subset) and the nominal time; COMPLETE names neither. The write
    was queued with the time and partition of whichever event came second; it takes the COMPLETE's
    now (its time, and the nominal time its run facets give), in both orders of arrival."""
    _marked_table_with_asset(catalog_api, "ordered")
    target = [{"namespace": PG, "name": "shop.public.ordered"}]
    nominal = {"nominalTime": _facet(nominalStartTime="2026-11-30T00:00:00Z")}
    queued = []
    for n, order in enumerate((("START", "COMPLETE"), ("COMPLETE", "START"))):
        run_id = f"0193f300-0000-7000-8000-00000000000{n}"
        for kind in order:
            payload = run_event(
                eventType=kind,
                eventTime="2026-12-01T10:00:00Z" if kind == "START" else "2026-12-01T10:05:00Z",
                run={"runId": run_id, "facets": nominal if kind == "COMPLETE" else {}},
                job=WRITER,
                outputs=target if kind == "START" else [],
            )
            assert catalog_api.send(payload).status_code == 201
        (write,) = [w for w in _writes(catalog_api, "shop.public.ordered")["catalogWrites"] if w["runId"] == run_id]
        queued.append((write["eventTime"], write["partitionKey"]))
    assert queued == [("2026-12-01T10:05:00Z", "2026-11-30T00:00:00Z")] * 2
