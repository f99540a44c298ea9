"""The API's rules for every route, in process (tests/inprocess.py): who may call what, each
refusal an ErrorBody, and every invalid parameter a 422 that names it."""

from __future__ import annotations

import re
import uuid
from typing import NamedTuple
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from http_client import fresh_event

from airflow_ol_catalog.api.app import create_app
from airflow_ol_catalog.api.auth import (
    AUTH_RULES,
    admin_principal,
    curator_principal,
    ingest_principal,
    login_reader_principal,
    read_principal,
)
from airflow_ol_catalog.api.datamodels.common import ErrorBody

EXTREME_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2025-01-15T10:00:00+99:00")


@pytest.fixture(scope="module")
def client(catalog_api):
    return catalog_api


# --- who may call what -------------------------------------------------------------------------------

CALLERS = ("nobody", "ingest token", "read token", "admin token", "Airflow viewer", "Airflow admin")
# Per kind of route, what each caller gets: 401, 403, or past the auth check (None).
EXPECTED = {
    ingest_principal: (401, None, None, None, 403, None),
    read_principal: (401, 403, None, None, None, None),
    admin_principal: (401, 403, 403, None, 403, None),
    curator_principal: (401, 403, 403, 403, 403, None),
    login_reader_principal: (401, 403, 403, 403, None, None),
}


def _auth_of(route: APIRoute):
    calls = {dependency.call for dependency in route.dependant.dependencies}
    return next((call for call in AUTH_RULES if call in calls), None)


@pytest.fixture(scope="module")
def credentials(client) -> dict[str, str]:
    return {
        "nobody": "",
        "ingest token": client.create_token("rules-ingest"),
        "read token": client.create_token("rules-read", read=True),
        "admin token": client.create_token("rules-admin", admin=True),
        "Airflow viewer": client.jwt("viewer"),
        "Airflow admin": client.jwt("admin"),
    }


def test_every_route_declares_one_of_the_known_auth_rules():
    unguarded = [
        route.path
        for route in create_app().routes
        if isinstance(route, APIRoute) and _auth_of(route) is None and route.path not in ("/health", "/ui")
    ]
    assert unguarded == []


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda call: call.__name__)
def test_each_kind_of_route_lets_in_exactly_its_callers(client, credentials, kind):
    """Every route of the kind, every caller: refused with 401 or 403 and an ErrorBody, or let past
    the auth check (the request may still be refused for what it holds: no body, unknown names)."""
    routes = [r for r in create_app().routes if isinstance(r, APIRoute) and _auth_of(r) is kind]
    assert routes
    for route in routes:
        path = re.sub(r"{\w+(?::\w+)?}", "unknown", route.path)
        for caller, expected in zip(CALLERS, EXPECTED[kind], strict=True):
            for method in route.methods:
                answer = client.request(method, path, credentials[caller])
                if expected is None:
                    assert answer.status_code not in (401, 403), (caller, method, path, answer.text)
                    continue
                assert answer.status_code == expected, (caller, method, path, answer.text)
                assert ErrorBody.model_validate(answer.json()).detail
                if expected == 401:
                    assert answer.headers["WWW-Authenticate"] == "Bearer"


# --- invalid parameters: 422 naming them ---------------------------------------------------------------


def test_every_paged_list_refuses_a_bad_limit_or_offset_naming_it(client):
    lists = [
        r.path
        for r in create_app().routes
        if isinstance(r, APIRoute)
        and "GET" in r.methods
        and {"limit", "offset"} <= {p.name for p in r.dependant.query_params}
    ]
    assert len(lists) > 8
    admin = client.jwt("admin")
    for path in lists:
        path = re.sub(r"{\w+(?::\w+)?}", "unknown", path)
        for parameter, value in (("limit", "-1"), ("limit", "1001"), ("offset", "-1"), ("offset", "many")):
            answer = client.get(path, admin, **{parameter: value})
            assert answer.status_code == 422, (path, parameter, value, answer.text)
            body = ErrorBody.model_validate(answer.json())
            assert body.detail.startswith(f"query.{parameter}: ") and body.errors[0].path == f"query.{parameter}"
        # limit=0 answers the count alone, as Marquez's lists do (clients ask so for `totalCount`)
        answer = client.get(path, admin, limit="0")
        assert answer.status_code in (200, 404), (path, answer.text)
        if answer.status_code == 200:
            pages = [
                v for k, v in answer.json().items() if isinstance(v, list) and k != "schemes"
            ]  # schemes: not paged
            assert pages and all(v == [] for v in pages), (path, answer.text)


def test_limit_zero_answers_the_total_alone(client):
    for _ in range(2):
        assert client.send(fresh_event("count-only")).status_code == 201
    answer = client.get("api/v1/namespaces/count-only/jobs", limit="0").json()
    assert (answer["jobs"], answer["totalCount"]) == ([], 1)
    answer = client.get("api/v1/namespaces/count-only/jobs/etl.load/runs", limit="0").json()
    assert (answer["runs"], answer["totalCount"]) == ([], 2)


@pytest.mark.parametrize("when", EXTREME_TIMES)
def test_event_times_beyond_the_calendar_are_422_naming_event_time(client, when):
    response = client.send(fresh_event("extreme", eventTime=when))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "eventTime"


@pytest.mark.parametrize("when", EXTREME_TIMES)
@pytest.mark.parametrize(
    "path, parameter", [("events/lineage", "before"), ("events/lineage", "after"), ("lineage", "asOf")]
)
def test_query_times_beyond_the_calendar_are_422_naming_the_parameter(client, when, path, parameter):
    params = {parameter: when}
    if path == "lineage":
        params["nodeId"] = "job:extreme:none"
    response = client.get("api/v1/" + path, **params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"query parameter {parameter}: ")


class _Operation(NamedTuple):
    path: str
    method: str
    in_path: list[str]
    in_query: list[str]

    def url(self, **values: str) -> str:
        """The path with the given path parameters (as written: already escaped) and "ok" for the rest."""
        return re.sub(r"{([^}:]+)[^}]*}", lambda m: values.get(m[1], "ok"), self.path)


def _documented_operations(client) -> list[_Operation]:
    spec = client.get("openapi.json", token="").json()
    return [
        _Operation(
            path,
            method,
            [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"],
            [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"],
        )
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def test_nul_in_any_path_or_query_parameter_is_422_naming_it(client):
    admin = {"Authorization": f"Bearer {client.jwt('admin')}"}
    checked = 0
    for operation in _documented_operations(client):
        method = operation.method
        for name in operation.in_path:
            url = operation.url(**{name: "bad%00name"})
            answer = client.request(method, url, headers=admin)
            assert answer.status_code == 422 and answer.json()["detail"].startswith("path: "), (
                method,
                url,
                answer.text,
            )
            checked += 1
        for parameter in operation.in_query:
            url = operation.url()
            answer = client.request(method, url, params={parameter: "bad\x00value"}, headers=admin)
            assert answer.status_code == 422, (method, url, parameter, answer.text)
            assert answer.json()["detail"].startswith(f"query parameter {parameter}: "), answer.text
            checked += 1
    assert checked > 40


@pytest.mark.parametrize(
    "field, body", [("name", {"name": "a\x00b"}), ("description", {"name": "nul-desc", "description": "x\x00"})]
)
def test_nul_in_an_admin_body_is_422_naming_the_field(client, field, body):
    answer = client.request("POST", "api/v1/admin/namespaces", client.jwt("admin"), json=body)
    assert answer.status_code == 422, answer.text
    assert f"body.{field}: " in answer.json()["detail"] and "NUL" in answer.json()["detail"]


@pytest.mark.parametrize(
    "name, message", [("   ", "name: must not be empty"), ("é" * 600, "name: is longer than 1024 bytes")]
)
def test_a_namespace_name_events_could_not_use_is_422_saying_why(client, name, message):
    answer = client.request("POST", "api/v1/admin/namespaces", client.jwt("admin"), json={"name": name})
    assert answer.status_code == 422 and message in answer.json()["detail"], answer.text


def test_escapes_that_decode_to_no_utf8_are_400_in_any_path_or_query_parameter(client):
    """`%FF` or an encoded surrogate would otherwise reach a route as U+FFFD, so that different
    paths named one object; every operation refuses them before routing."""
    admin = {"Authorization": f"Bearer {client.jwt('admin')}"}
    checked = 0
    for operation in _documented_operations(client):
        method, plain = operation.method, operation.url()
        for bad in ("%FF", "%ED%A0%80", "%C0%AF"):
            if operation.in_path:
                url = operation.url(**{operation.in_path[0]: "x" + bad})
                answer = client.request(method, url, headers=admin)
                assert answer.status_code == 400 and answer.json()["detail"].startswith("path: "), (url, answer.text)
                checked += 1
            for parameter in operation.in_query[:1]:
                answer = client.request(method, f"{plain}?{parameter}=x{bad}", headers=admin)
                assert answer.status_code == 400, (method, plain, parameter, answer.text)
                assert answer.json()["detail"].startswith(f"query parameter {parameter}: "), answer.text
                checked += 1
    assert checked > 40
    # valid UTF-8, escaped, is read as sent
    assert client.get("api/v1/namespaces/caf%C3%A9").json()["detail"] == "namespace 'café' not found"


@pytest.mark.parametrize("event_id", [2**63, -(2**64), 0])
def test_an_event_id_no_database_can_hold_is_422_naming_it(client, event_id):
    """Found by schemathesis: SQLite raised on an id past 64 bits instead of an answer."""
    answer = client.request(
        "POST", "api/v1/admin/quarantine/discard", client.jwt("admin"), json={"eventIds": [event_id]}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("body.eventIds.0: "), answer.text


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff x"])
def test_a_lone_surrogate_in_a_stored_body_text_is_422_naming_the_field(client, text):
    body = '{"description": "' + text.encode("unicode_escape").decode().replace("\\\\u", "\\u") + '"}'
    answer = client.request(
        "PUT",
        "api/v1/tags/surrogate",
        client.jwt("admin"),
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert "body.description: " in answer.json()["detail"] and "lone surrogate" in answer.json()["detail"]


def test_datasets_and_jobs_of_a_namespace_nobody_sent_are_404_naming_it(client):
    for kind in ("datasets", "jobs"):
        answer = client.get(f"api/v1/namespaces/nobody-sent-this/{kind}")
        assert answer.status_code == 404 and answer.json()["detail"] == "namespace 'nobody-sent-this' not found"
    client.send(fresh_event("sent-jobs-only"))
    assert client.get("api/v1/namespaces/sent-jobs-only/datasets").json() == {"datasets": [], "totalCount": 0}


# --- every route against callers who may not, and hostile parameters ------------------------------------

OPEN = {"/health", "/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"}
HOSTILE = [
    "' OR 1=1 --",
    "../../../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "\\x00",
    "a" * 3000,
    "dataset:x:y' UNION SELECT *--",
]


def test_every_route_refuses_the_wrong_callers_and_survives_hostile_parameters(client):
    """Unknown, revoked and malformed credentials are 401 on every route but the open ones; the
    administrative routes are 403 to viewers and read tokens, hiding to every token; the pages to
    tokens; and no hostile path or query value gives a 5xx."""
    listed = [op for op in _documented_operations(client) if op.path not in OPEN]
    assert len(listed) >= 30
    revoked = client.create_token("revoked-after", read=True)
    client.revoke_token("revoked-after")
    limited = client.create_token("limited", namespaces=["somewhere-else"])
    viewer = client.jwt("viewer")
    admin_token = client.create_token("admin-token", admin=True)
    for operation in listed:
        method, path = operation.method.upper(), operation.path
        body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
        url = operation.url(**dict.fromkeys(operation.in_path, "x"))
        for credential, who in (
            ("", "anonymous"),
            ("olc_" + "x" * 40, "unknown token"),
            (revoked, "revoked token"),
            ("not-a-jwt", "garbage"),
        ):
            assert client.request(method, url, credential, **body).status_code == 401, (method, path, who)
        if "/admin/" in path or method in ("DELETE", "PATCH") or path.endswith("/restore"):
            assert client.request(method, url, viewer, **body).status_code == 403, (method, path, "viewer as admin")
            assert client.request(method, url, None, **body).status_code == 403, (method, path, "read token")
        if "/admin/" not in path and (method == "DELETE" or path.endswith("/restore")):
            refused = client.request(method, url, admin_token, **body)
            assert refused.status_code == 403, (method, path, "admin token hiding or restoring")
        if path.startswith("/ui"):
            assert client.request(method, url).status_code == 403, (method, path, "token on the pages")
    assert client.send(fresh_event("anywhere"), token=limited).status_code == 403
    for operation in listed:
        if operation.method != "get":
            continue
        for value in HOSTILE:
            params = {"q": value, "nodeId": value, "asOf": value, "limit": 5}
            url = operation.url(**dict.fromkeys(operation.in_path, quote(value, safe="")))
            status = client.request("GET", url, params=params).status_code
            assert status < 500, (operation.path, value, status)
    assert client.get("ui/assets/..%2F..%2Fapi%2Fapp.py", viewer).status_code == 404


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("before", "2026-W49-2"),  # an ISO week date: not a day written YYYY-MM-DD
        ("before", "\u0662\u0660\u0662\u0666-\u0661\u0662-\u0660\u0661"),  # Arabic-Indic digits
        ("after", "2026-12-1"),
    ],
)
def test_search_days_are_written_yyyy_mm_dd_in_ascii_digits(client, parameter, value):
    answer = client.get("api/v1/search", q="x", **{parameter: value})
    assert answer.status_code == 422 and answer.json()["detail"].startswith(f"query parameter {parameter}: ")


def test_times_in_query_parameters_take_ascii_digits_only(client):
    answer = client.get("api/v1/events/lineage", before="\u0662\u0660\u0662\u0666-\u0661\u0662-\u0660\u0661T00:00:00Z")
    assert answer.status_code == 422 and "query parameter before: " in answer.json()["detail"], answer.text


def test_search_within_a_dataset_namespace_takes_any_spelling_of_it(client):
    payload = fresh_event("spellings")
    payload["outputs"] = [{"namespace": "postgresql://db.example:5432", "name": "public.spelled_orders"}]
    assert client.send(payload).status_code == 201
    for spelling in ("postgresql://db.example:5432", "postgres://DB.EXAMPLE:5432", "postgresql://db.example"):
        found = client.get("api/v1/search", q="spelled_orders", namespace=spelling).json()
        assert [r["name"] for r in found["results"]] == ["public.spelled_orders"], (spelling, found)


def test_a_run_id_two_jobs_share_is_read_as_each_jobs_run_when_the_job_is_named(client):
    """A run id is unique per job only. Unnamed, the run stored first answers (a later producer
    cannot stand in for it); named by `namespace` and `job`, each job's own run and tree answer."""
    run_id = str(uuid.uuid4())
    first, second = fresh_event("shared-a"), fresh_event("shared-b")
    first["job"]["name"], second["job"]["name"] = "first", "second"
    first["run"]["runId"] = second["run"]["runId"] = run_id
    second["eventType"] = "FAIL"
    for payload in (first, second):
        assert client.send(payload).status_code == 201
    answer = client.get(f"api/v1/jobs/runs/{run_id}").json()
    assert (answer["jobVersion"]["namespace"], answer["jobVersion"]["name"]) == ("shared-a", "first")
    for namespace, job, state in (("shared-a", "first", "RUNNING"), ("shared-b", "second", "FAILED")):
        answer = client.get(f"api/v1/jobs/runs/{run_id}", namespace=namespace, job=job)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["jobVersion"]["name"], answer.json()["state"]) == (job, state)
        tree = client.get(f"api/v1/jobs/runs/{run_id}/tree", namespace=namespace, job=job).json()
        assert (tree["rootJob"]["namespace"], tree["rootJob"]["name"]) == (namespace, job), tree
    assert client.get(f"api/v1/jobs/runs/{run_id}", namespace="shared-a", job="second").status_code == 404
    for alone in ({"namespace": "shared-a"}, {"job": "first"}):
        refused = client.get(f"api/v1/jobs/runs/{run_id}", **alone)
        assert refused.status_code == 422 and "namespace and job" in refused.json()["detail"], alone


def test_column_lineage_reads_a_name_holding_hash_whole_and_a_version_after_hash_as_the_dataset(client):
    """A name may hold `#` (a URL's fragment): the column graph of `out/q?x=1#frag` is that
    dataset's, not a 404 for `out/q?x=1`. Marquez's clients may end a node id with `#VERSION`:
    read as the dataset when no name holds it."""
    payload = fresh_event("hash")
    fields = {"c": {"inputFields": [{"namespace": "s3://bucket", "name": "in/src", "field": "c"}]}}
    payload["inputs"] = [{"namespace": "s3://bucket", "name": "in/src"}]
    payload["outputs"] = [
        {
            "namespace": "s3://bucket",
            "name": "out/q?x=1#frag",
            "facets": {
                "columnLineage": {
                    "_producer": "https://example.com/p",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                    "fields": fields,
                }
            },
        }
    ]
    assert client.send(payload).status_code == 201
    for node in (
        "dataset:s3://bucket:out/q?x=1#frag",
        "dataset:s3://bucket:out/q?x=1#frag#0199f2a4-0000-7000-8000-000000000001",
    ):
        answer = client.get("api/v1/column-lineage", nodeId=node)
        assert answer.status_code == 200, (node, answer.text)
        assert {n["data"]["dataset"] for n in answer.json()["graph"]} == {"out/q?x=1#frag", "in/src"}, node
    assert client.get("api/v1/column-lineage", nodeId="dataset:s3://bucket:out/q?x=1").status_code == 404
    # what is left before the `#` is no node id (no name, or not of the namespace given): 404, not a 500
    for query in ({"nodeId": "dataset:x#y:a"}, {"nodeId": "dataset:a:b#c:d", "namespace": "a:b#c"}):
        answer = client.get("api/v1/column-lineage", **query)
        assert (answer.status_code, answer.json()) == (404, {"detail": f"node {query['nodeId']!r} not found"}), query


def test_a_dataset_whose_name_starts_with_two_slashes_is_reached_by_its_node_id(client):
    """A UNC path in the `file` namespace: its node id, `dataset:file://server/share/x.csv`, is the
    only way to name it; every route taking a node id finds it, and its graph names it so."""
    payload = fresh_event("unc")
    payload["outputs"] = [{"namespace": "file", "name": "//fileserver/share/sales.csv"}]
    assert client.send(payload).status_code == 201
    node = "dataset:file://fileserver/share/sales.csv"
    graph = client.get("api/v1/lineage", nodeId=node, depth=1)
    assert graph.status_code == 200, graph.text
    assert node in {n["id"] for n in graph.json()["graph"]}
    for path in ("api/v1/column-lineage", "api/v1/flows", "api/v1/impact"):
        answer = client.get(path, nodeId=node)
        assert answer.status_code == 200, (path, answer.text)
    # a namespace alone (the name forgotten) reads only that way, names nothing, and says how it was read
    alone = client.get("api/v1/lineage", nodeId="dataset:s3://bucket")
    assert alone.status_code == 404 and "read as namespace 's3' and name '//bucket'" in alone.json()["detail"]
