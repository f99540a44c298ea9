"""The API's contract, in process: every JSON route declares a response model, every answer holds
exactly what its model declares (Answer forbids other fields), and the OpenAPI document describes
each success and each error answer."""

from __future__ import annotations

import re
import time
import typing
import uuid
from urllib.parse import quote

import pytest
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from inprocess import InProcessCatalog
from pydantic import TypeAdapter, ValidationError
from test_events import run_event

from airflow_ol_catalog.api.app import create_app
from airflow_ol_catalog.api.datamodels.common import Answer, ErrorBody

# Routes that answer no JSON, and so have no response model: the UI's pages and files.
NOT_JSON = {
    ("GET", "/ui"),  # a redirect to /ui/
    ("GET", "/ui/"),  # the UI's HTML page
    ("GET", "/ui/assets/{name}"),  # the UI's scripts and styles
}
# Routes that only refuse (405: the catalog is written through events), with no success answer.
ONLY_REFUSE = {
    ("PUT", "/api/v1/namespaces/{namespace:name}"),
    ("PUT", "/api/v1/sources/{source:name}"),
    ("PUT", "/api/v1/namespaces/{namespace:name}/datasets/{dataset:name}"),
    ("PUT", "/api/v1/namespaces/{namespace:name}/jobs/{job:name}"),
    ("POST", "/api/v1/namespaces/{namespace:name}/jobs/{job:name}/runs"),
    *(("POST", f"/api/v1/jobs/runs/{{run_id:name}}/{action}") for action in ("start", "complete", "fail", "abort")),
}
NAMESPACE = "walk"
SOURCE_DB = "postgres://walk-db:5432"  # a namespace an Airflow Connection describes (AIRFLOW_CONN_WALK_PG)
JOB = "walk.load"
RUN_ID = str(uuid.uuid4())


def _operations() -> list[tuple[str, str, APIRoute]]:
    return [
        (method, route.path, route)
        for route in create_app().routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def _models_in(annotation) -> list[type]:
    """The classes a response model is made of (`Model`, `list[Model]`, `A | B`, ...)."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return [annotation]
    return [found for arg in typing.get_args(annotation) for found in _models_in(arg)]


def _has_answer_model(route: APIRoute) -> bool:
    models = _models_in(route.response_model) if route.response_model is not None else []
    return bool(models) and all(isinstance(m, type) and issubclass(m, Answer) for m in models)


def test_every_json_route_declares_a_response_model_built_on_answer():
    missing = [
        f"{method} {path}"
        for method, path, route in _operations()
        if (method, path) not in NOT_JSON | ONLY_REFUSE and not _has_answer_model(route)
    ]
    assert missing == [], "routes without a response model deriving from Answer"


def test_every_answer_model_refuses_fields_it_does_not_declare():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for model in subclasses(Answer):
        assert model.model_config.get("extra") == "forbid", model.__name__
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ErrorBody.model_validate({"detail": "x", "hint": "not declared"})


def test_the_openapi_document_describes_every_success_and_every_error_answer():
    document = create_app().openapi()
    undescribed = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if (method.upper(), path) in NOT_JSON:  # FastAPI files even their JSON errors under text/html
                    continue
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not schema:
                    undescribed.append(f"{method.upper()} {path} {status}")
                elif status.startswith("4") and path != "/api/v1/lineage/batch":
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {status}"
    assert undescribed == []


def test_a_route_answering_an_undeclared_field_fails(catalog_api, monkeypatch):
    """What the strict models are for: an answer drifting from its model is a 500, not a silent change."""
    from airflow_ol_catalog.api import ui

    monkeypatch.setattr(ui, "Me", lambda **fields: {**fields, "secret": "leaked"})
    with pytest.raises(ResponseValidationError) as failure:
        catalog_api.get("api/v1/me")
    assert failure.value.errors()[0]["type"] == "extra_forbidden" and failure.value.errors()[0]["loc"][-1] == "secret"


# --- every GET route, called with real data --------------------------------------------------------


@pytest.fixture(scope="module")
def catalog_api(migrated_airflow_db, tmp_path_factory):
    """Under the quarantine policy, so that the quarantine list has something to list; and with an
    Airflow Connection (from the environment) for the data-source routes to match."""
    import os

    os.environ["AIRFLOW_CONN_WALK_PG"] = "postgres://user:secret@walk-db:5432/walkdb"
    api = InProcessCatalog(
        tmp_path_factory.mktemp("airflow-home"),
        migrated_airflow_db,
        unknown_namespace_policy="quarantine",
        airflow_namespaces=NAMESPACE,  # walk_dag's
    ).start()
    try:
        yield api
    finally:
        api.stop()
        del os.environ["AIRFLOW_CONN_WALK_PG"]


def _dataset(namespace: str, name: str, fields: list[str], **facets) -> dict:
    schema = {"fields": [{"name": f, "type": "VARCHAR"} for f in fields]}
    return {"namespace": namespace, "name": name, "facets": {"schema": schema, **facets}}


@pytest.fixture(scope="module")
def walked(catalog_api):
    """A catalog with something in every list: namespaces, a job with a completed run, datasets with
    schema versions and column lineage, a quarantined event, a refused request, a reconciliation."""
    admin = catalog_api.create_token("walker", admin=True)
    for namespace in (NAMESPACE, SOURCE_DB):
        created = catalog_api.request("POST", "api/v1/admin/namespaces", admin, json={"name": namespace})
        assert created.status_code == 201, created.text
    column_lineage = {
        "fields": {"id": {"inputFields": [{"namespace": SOURCE_DB, "name": "walkdb.public.src", "field": "id"}]}}
    }
    outputs = [_dataset(NAMESPACE, "out.table", ["id"], columnLineage=column_lineage)]
    inputs = [_dataset(SOURCE_DB, "walkdb.public.src", ["id", "name"])]
    tags = {"tags": [{"key": "team", "value": "walkers"}]}
    fed_by = {
        "entries": [{"type": "JOB", "inputs": [{"namespace": NAMESPACE, "name": "walk.upstream", "type": "JOB"}]}]
    }
    job = {"namespace": NAMESPACE, "name": JOB, "facets": {"tags": tags, "lineage": fed_by}}
    for event_type, at in (("START", "10:00"), ("COMPLETE", "10:05")):
        payload = run_event(
            eventType=event_type,
            eventTime=f"2025-03-01T{at}:00Z",
            run={"runId": RUN_ID, "facets": {}},
            job=job,
            inputs=inputs,
            outputs=outputs,
        )
        assert catalog_api.send(payload).status_code == 201
    upstream = {"namespace": NAMESPACE, "name": "walk.upstream", "type": "JOB"}
    fed_by = {"entries": [{"namespace": NAMESPACE, "name": JOB, "type": "JOB", "inputs": [upstream]}]}
    orchestrator = {"namespace": NAMESPACE, "name": "walk.orchestrator", "facets": {"lineage": fed_by}}
    assert catalog_api.send(run_event(eventType="COMPLETE", job=orchestrator)).status_code == 201
    dag_run = {
        "airflowDagRun": {
            "_producer": "https://example.com/airflow",
            "_schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet",
            "dag": {"dag_id": "walk_dag"},
            "dagRun": {"dag_id": "walk_dag", "run_id": "manual__walk"},
        }
    }

    def completed(job_name: str, run_facets: dict) -> None:
        job = {"namespace": NAMESPACE, "name": job_name, "facets": {}}
        run = {"runId": str(uuid.uuid4()), "facets": run_facets}
        assert catalog_api.send(run_event(eventType="COMPLETE", run=run, job=job)).status_code == 201

    completed("walk_dag", dag_run)
    completed(
        "walk_dag.load",
        {"airflow": dag_run["airflowDagRun"] | {"task": {"task_id": "load"}, "taskInstance": {"map_index": -1}}},
    )
    quarantined = catalog_api.send(run_event(job={"namespace": "nowhere", "name": "x", "facets": {}}))
    assert quarantined.json()["quarantined"] is True
    assert catalog_api.post(b'{"truncated": ').status_code == 400
    matched = catalog_api.request("POST", "api/v1/admin/reconciliation/match", admin)
    assert matched.status_code == 200 and matched.json()["counts"]["matched"] == 1, matched.text
    checks = [{"namespace": SOURCE_DB, "name": "walkdb.public.src", "status": "ok"}]
    assert catalog_api.request("POST", "api/v1/admin/reconciliation/checks", admin, json={"checks": checks}).json() == {
        "stored": 1
    }
    deadline = time.monotonic() + 15
    while not catalog_api.get("api/v1/admin/refusals", admin).json()["refusals"]:  # written within a second
        assert time.monotonic() < deadline, "the refused request was never logged"
        time.sleep(0.2)
    versions = catalog_api.get(f"api/v1/namespaces/{NAMESPACE}/datasets/out.table/versions").json()
    job_versions = catalog_api.get(f"api/v1/namespaces/{NAMESPACE}/jobs/{JOB}/versions").json()
    sources = catalog_api.get("api/v1/sources").json()
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = AssetModel(name="walk_export", uri="file:///walk/export.csv", group="asset")
        session.add(asset)
        session.flush()
        asset_id = asset.id
    return {
        "job_version": job_versions["versions"][0]["version"],
        "admin": admin,
        "path": {
            "namespace": NAMESPACE,
            "dataset": "out.table",
            "job": JOB,
            "run_id": RUN_ID,
            "version": versions["versions"][0]["version"],
            "source": sources["sources"][0]["name"],
            "asset_id": str(asset_id),
            "dag_id": "walk_dag",
            "dag_run_id": "manual__walk",
            "task_id": "load",
        },
        "query": {
            "/api/v1/lineage": {"nodeId": f"dataset:{NAMESPACE}:out.table"},
            "/api/v1/column-lineage": {"nodeId": f"dataset:{NAMESPACE}:out.table"},
            "/api/v1/impact": {"nodeId": f"dataset:{SOURCE_DB}:walkdb.public.src"},
            "/api/v1/flows": {"nodeId": f"job:{NAMESPACE}:{JOB}"},
            "/api/v1/search": {"q": "walk"},
            "/api/v1/jobs/runs/{run_id:name}/compare": {"with": RUN_ID},
            **{
                f"/api/v1/stats/{kind}": {"period": "DAY"} for kind in ("lineage-events", "jobs", "datasets", "sources")
            },
        },
    }


def _filled(path: str, values: dict[str, str]) -> str:
    filled = re.sub(r"{(\w+)(?::\w+)?}", lambda m: quote(values.get(m.group(1), m.group(0)), safe="{}"), path)
    assert "{" not in filled, f"no value for a parameter of {path}"
    return filled


GET_ROUTES = sorted(
    (path, route) for method, path, route in _operations() if method == "GET" and (method, path) not in NOT_JSON
)


@pytest.mark.parametrize("path, route", GET_ROUTES, ids=[path for path, _ in GET_ROUTES])
def test_every_get_route_answers_exactly_its_model_with_real_data(catalog_api, walked, path, route):
    values = walked["path"]
    if "/jobs/{job:name}/versions/" in path:
        values = {**values, "version": walked["job_version"]}
    response = catalog_api.get(_filled(path, values), walked["admin"], **walked["query"].get(path, {}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body, "an empty answer proves nothing"
    TypeAdapter(route.response_model).validate_python(body)


def test_the_admin_lists_hold_the_walks_data(catalog_api, walked):
    """The walk above validates real rows, not empty lists."""
    admin = walked["admin"]
    assert catalog_api.get("api/v1/admin/quarantine", admin).json()["totalCount"] == 1
    assert catalog_api.get("api/v1/admin/tokens", admin).json()["totalCount"] >= 2
    sources = catalog_api.get("api/v1/data-sources", admin).json()
    assert sources["reconciled"] is True and sources["dataSources"][0]["ok"] == 1
    impact = catalog_api.get("api/v1/impact", admin, **walked["query"]["/api/v1/impact"]).json()
    assert [item["id"] for item in impact["impacted"]] == [f"dataset:{NAMESPACE}:out.table"]
    stats = catalog_api.get("api/v1/stats", admin).json()
    assert stats["events"] == 5 and stats["quarantinedEvents"] == 1 and stats["refusedByReason"]
    task_run = catalog_api.get("api/v1/airflow/task-instances/walk_dag/manual__walk/load/run", admin).json()
    assert task_run["job"] == "walk_dag.load" and task_run["run"]["state"] == "COMPLETED"  # a run, not nulls


def test_the_admin_writes_answer_their_models(catalog_api, walked):
    """The admin routes that change things, with the models their routes declare (the walk above reads)."""
    from airflow_ol_catalog.api.datamodels import admin as models

    admin = walked["admin"]
    calls = [
        ("POST", "api/v1/admin/retention", {"days": 36_500, "dryRun": True}, models.RetentionResult),
        ("PATCH", f"api/v1/admin/namespaces/{NAMESPACE}", {"description": "walked"}, models.AdminNamespace),
        ("POST", "api/v1/admin/tokens", {"name": "walk-minted", "read": True}, models.CreatedToken),
        ("POST", "api/v1/admin/tokens/walk-minted/revoke", None, models.TokenInfo),
        ("POST", "api/v1/admin/quarantine/replay", {"namespace": NAMESPACE}, models.Replayed),
        ("POST", "api/v1/admin/quarantine/discard", {"namespace": "nowhere"}, models.Discarded),
    ]
    for method, path, body, model in calls:
        answer = catalog_api.request(method, path, admin, json=body)
        assert answer.status_code in (200, 201), (path, answer.text)
        model.model_validate(answer.json())
    assert catalog_api.get("api/v1/admin/quarantine", admin).json()["totalCount"] == 0


def test_an_unhealthy_catalog_answers_503_with_the_health_model(catalog_api, monkeypatch):
    from airflow_ol_catalog.api import health
    from airflow_ol_catalog.api.datamodels.ingest import Health

    monkeypatch.setattr(health, "_check", lambda: ("unreachable: OperationalError", "unknown", {}))
    answer = catalog_api.get("health", token="")
    assert answer.status_code == 503
    assert Health.model_validate(answer.json()).status == "unhealthy"
    assert answer.json()["eventLog"] == {}  # nothing read, nothing said: not a null last event
