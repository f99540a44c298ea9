"""The ingestion endpoint of a real `airflow api-server`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from conftest import EXAMPLES
from sqlalchemy import create_engine, func, select
from test_events import run_event

from airflow_ol_catalog.store.tables import event

pytestmark = pytest.mark.integration
LINEAGE = "ol-catalog/api/v1/lineage"


class Client:
    def __init__(self, server):
        self.server = server
        self.engine = create_engine(server.sql_alchemy_conn)

    def post(self, body: bytes | str, path: str = LINEAGE, token: str | None = None, **headers) -> requests.Response:
        headers.setdefault("Content-Type", "application/json")
        headers = {k.replace("_", "-"): v for k, v in headers.items() if v is not None}
        headers["Authorization"] = f"Bearer {token or self.server.token}"
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        return requests.post(self.server.url + path, data=data, headers=headers, timeout=60)

    def send(self, payload, **kwargs) -> requests.Response:
        return self.post(json.dumps(payload), **kwargs)

    def get(self, path: str, token: str | None = None, **params) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.server.token}"}
        return requests.get(self.server.url + path, params=params, headers=headers, timeout=60)

    def stored(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(event)).scalar_one()


@pytest.fixture(scope="module")
def client(airflow_server):
    c = Client(airflow_server)
    yield c
    c.engine.dispose()


def fresh_event(namespace: str | None = None, **changes) -> dict:
    payload = run_event(**changes)
    payload["run"]["runId"] = str(uuid.uuid4())
    if namespace:
        payload["job"]["namespace"] = namespace
    return payload


def corpus_events(corpus: Path, namespace: str) -> list[dict]:
    events = []
    for path in sorted(corpus.rglob("*.json")):
        payload = json.loads(path.read_text())
        for node in (payload["job"], payload["run"].get("facets", {}).get("parent", {}).get("job")):
            if node:
                node["namespace"] = namespace
        events.append(payload)
    return events


def test_health_reports_database_and_migrations(client):
    body = requests.get(client.server.url + "ol-catalog/health", timeout=10).json()
    assert {k: body[k] for k in ("status", "database", "migrations")} == {
        "status": "healthy",
        "database": "reachable",
        "migrations": "current",
    }
    assert set(body["eventLog"]) == {"lastEventReceivedAt", "quarantinedEvents"}


def test_every_corpus_event_is_accepted_and_a_resend_stores_nothing(client, corpus):
    events = corpus_events(corpus, "corpus-" + uuid.uuid4().hex[:6])
    assert len(events) == 32
    before = client.stored()
    answers = [client.send(payload) for payload in events]
    assert [a.status_code for a in answers] == [201] * 32
    assert not any(a.json()["duplicate"] for a in answers)
    assert client.stored() == before + 32
    again = [client.send(payload) for payload in events]
    assert [a.status_code for a in again] == [201] * 32
    assert all(a.json()["duplicate"] for a in again)
    assert [a.json()["eventId"] for a in again] == [a.json()["eventId"] for a in answers]
    assert client.stored() == before + 32


def test_receipt_names_the_event(client):
    payload = fresh_event("receipts")
    body = client.send(payload).json()
    assert body["namespace"] == "receipts" and body["kind"] == "run" and body["eventType"] == "START"
    assert body["runId"] == payload["run"]["runId"] and body["duplicate"] is False and body["quarantined"] is False


@pytest.mark.parametrize(
    "path",
    [LINEAGE, "ol-catalog/events/openlineage/generic-openlineage/api/v1/lineage", "ol-catalog/open_lineage_event/"],
)
def test_alias_paths_answer_like_the_main_endpoint(client, path):
    response = client.send(fresh_event("aliases"), path=path)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_openlineage_python_client_sends_events(client, compression):
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = {"url": client.server.url, "endpoint": LINEAGE, "auth": {"type": "api_key", "apiKey": client.server.token}}
    if compression:
        config["compression"] = compression
    ol = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))
    run_id = str(uuid.uuid4())
    namespace = f"ol-client-{compression or 'plain'}"
    for state in (RunState.START, RunState.COMPLETE):
        ol.emit(
            RunEvent(
                eventType=state,
                eventTime="2025-06-01T10:00:00Z",
                run=Run(runId=run_id),
                job=Job(namespace=namespace, name="daily.load"),
                producer="https://example.com/my-script",
                inputs=[InputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
                outputs=[OutputDataset(namespace="s3://bucket", name="exports/orders")],
            )
        )
    events = client.get("ol-catalog/api/v1/events/lineage", runId=run_id, sortDirection="asc").json()
    assert [e["eventType"] for e in events["events"]] == ["START", "COMPLETE"]
    assert events["events"][0]["inputs"][0]["name"] == "shop.public.orders"


def test_cli_send_posts_a_directory_and_counts_outcomes(client, corpus, tmp_path):
    namespace = "cli-" + uuid.uuid4().hex[:6]
    args = (
        "ol-catalog",
        "send",
        str(corpus),
        "--namespace",
        namespace,
        "--url",
        client.server.url,
        "--token",
        client.server.token,
    )
    first = client.server.cli(*args).stdout.strip().splitlines()
    assert "[1/32] 01_simple_dag/events/01_dag_start.json: accepted" in first
    assert first[-1] == "32 events: 32 accepted, 0 duplicate, 0 rejected"
    assert client.server.cli(*args).stdout.strip().splitlines()[-1] == "32 events: 0 accepted, 32 duplicate, 0 rejected"
    (tmp_path / "bad.json").write_text('{"eventTime": "2025-01-01T00:00:00Z"}')
    result = client.server.cli(
        "ol-catalog", "send", str(tmp_path), "--url", client.server.url, "--token", client.server.token, check=False
    )
    assert result.returncode == 1 and result.stdout.strip().endswith("1 events: 0 accepted, 0 duplicate, 1 rejected")


def test_project_examples_are_all_accepted(client):
    result = client.server.cli(
        "ol-catalog",
        "send",
        str(EXAMPLES),
        "--namespace",
        "examples-" + uuid.uuid4().hex[:6],
        "--url",
        client.server.url,
        "--token",
        client.server.token,
    )
    assert " 0 rejected" in result.stdout.strip().splitlines()[-1]


def test_events_list_pages_and_filters_like_marquez(client):
    namespace = "paging-" + uuid.uuid4().hex[:6]
    for hour in range(5):
        client.send(fresh_event(namespace, eventTime=f"2025-02-01T{10 + hour:02d}:00:00Z"))
    page = client.get("ol-catalog/api/v1/events/lineage", namespace=namespace, limit=2).json()
    assert page["totalCount"] == 5
    assert [e["eventTime"] for e in page["events"]] == ["2025-02-01T14:00:00Z", "2025-02-01T13:00:00Z"]
    window = client.get(
        "ol-catalog/api/v1/events/lineage",
        namespace=namespace,
        after="2025-02-01T10:30:00Z",
        before="2025-02-01T13:30:00",
        sortDirection="asc",
    ).json()
    assert [e["eventTime"][11:13] for e in window["events"]] == ["11", "12", "13"]
    bad = client.get("ol-catalog/api/v1/events/lineage", before="soon")
    assert bad.status_code == 422 and "before" in bad.json()["detail"]


# --- batches ---------------------------------------------------------------------------------


def test_batch_of_valid_events_is_stored(client):
    events = [fresh_event("batch"), fresh_event("batch")]
    response = client.send(events, path=LINEAGE + "/batch")
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "summary": {"received": 2, "successful": 2, "duplicates": 0, "failed": 0},
        "failed_events": [],
    }


def test_batch_with_bad_events_stores_the_good_ones(client):
    good = fresh_event("batch")
    missing_run_id = fresh_event("batch")
    del missing_run_id["run"]["runId"]
    before = client.stored()
    too_deep = fresh_event("batch")
    too_deep["run"]["facets"]["deep"] = {"v": _nested(600)}
    response = client.send([missing_run_id, good, "nonsense", good, too_deep], path=LINEAGE + "/batch")
    assert response.status_code == 207
    body = response.json()
    assert body["status"] == "partial_success"
    assert body["summary"] == {"received": 5, "successful": 2, "duplicates": 1, "failed": 3}
    assert [(f["index"], f["retriable"]) for f in body["failed_events"]] == [(0, False), (2, False), (4, False)]
    assert "limit of 500 levels" in body["failed_events"][2]["reason"]
    assert "run.runId: is required" in body["failed_events"][0]["reason"]
    assert client.stored() == before + 1


def test_batch_where_nothing_is_valid_is_422(client):
    response = client.send([{}, 1], path=LINEAGE + "/batch")
    assert response.status_code == 422 and response.json()["status"] == "failure"


def test_batch_endpoint_wants_an_array(client):
    response = client.send(fresh_event(), path=LINEAGE + "/batch")
    assert response.status_code == 422 and "JSON array" in response.json()["detail"]


# --- bad input: every refusal is a 4xx that names the problem and stores nothing ----------------


def _event_without(*path: str) -> str:
    payload = fresh_event()
    node = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return json.dumps(payload)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _event_with(mutate) -> str:
    payload = fresh_event()
    mutate(payload)
    return json.dumps(payload)


BAD_INPUT = [
    ("empty body", b"", {}, 400, "empty"),
    ("null", b"null", {}, 422, "got null"),
    ("a string", b'"event"', {}, 422, "got string"),
    ("empty object", b"{}", {}, 422, "not an OpenLineage event"),
    ("array on the single endpoint", b"[]", {}, 422, "/batch"),
    ("truncated JSON", json.dumps(run_event())[:-10].encode(), {}, 400, "not valid JSON"),
    ("invalid UTF-8", b'{"producer": "\xc3\x28"}', {}, 400, "not valid UTF-8"),
    (
        "lone surrogate",
        b'{"eventTime":"2025-01-01T00:00:00Z","producer":"\\udc00x","job":{"namespace":"n","name":"j"}}',
        {},
        400,
        "lone surrogate",
    ),
    ("NUL in a name", _event_with(lambda e: e["job"].update(name="a\u0000b")).encode(), {}, 422, "job.name"),
    ("2000-deep nesting", b"[" * 2000 + b"]" * 2000, {}, 400, "nesting"),
    (
        "facet nested past max_json_depth",
        _event_with(lambda e: e["job"]["facets"].update(deep={"v": _nested(600)})).encode(),
        {},
        400,
        "limit of 500 levels",
    ),
    ("integer over 4300 digits", b'{"a": ' + b"1" * 4500 + b"}", {}, 400, "4500 digits"),
    ("NaN", b'{"eventTime": NaN}', {}, 400, "NaN"),
    ("duplicate keys", b'{"producer": "a", "producer": "b"}', {}, 400, "duplicate key 'producer'"),
    ("form Content-Type", b"{}", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "not JSON"),
    ("text Content-Type", b"{}", {"Content-Type": "text/plain"}, 415, "not JSON"),
    ("unsupported encoding", b"{}", {"Content-Encoding": "br"}, 415, "Content-Encoding"),
    ("gzip that is not gzip", b"{}", {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
    (
        "truncated gzip",
        gzip.compress(json.dumps(run_event()).encode())[:-12],
        {"Content-Encoding": "gzip"},
        400,
        "truncated",
    ),
    ("missing run.runId", _event_without("run", "runId").encode(), {}, 422, "run.runId"),
    ("missing job.name", _event_without("job", "name").encode(), {}, 422, "job.name"),
    ("missing eventTime", _event_without("eventTime").encode(), {}, 422, "eventTime"),
    ("facets that are a string", _event_with(lambda e: e["run"].update(facets="x")).encode(), {}, 422, "run.facets"),
    (
        "a facet that is a string",
        _event_with(lambda e: e["job"]["facets"].update(sql="x")).encode(),
        {},
        422,
        "job.facets.sql",
    ),
    (
        "event time that is a number",
        _event_with(lambda e: e.update(eventTime=1736935200)).encode(),
        {},
        422,
        "eventTime",
    ),
]


@pytest.mark.parametrize("name, body, headers, status, message", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_refused_with_a_clear_message_and_stores_nothing(client, name, body, headers, status, message):
    before = client.stored()
    response = client.post(body, **headers)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert client.stored() == before


@pytest.mark.parametrize(
    "name, mutate",
    [
        ("null facets", lambda e: e["run"].update(facets=None)),
        ("unknown spec version", lambda e: e.update(schemaURL="https://openlineage.io/spec/7-1-0/OpenLineage.json")),
        ("non-UUID run id", lambda e: e["run"].update(runId="manual__2025-01-01T00:00:00+00:00" + uuid.uuid4().hex)),
        ("event time without timezone", lambda e: e.update(eventTime="2025-01-01T00:00:00.123")),
        ("NUL inside a facet", lambda e: e["job"]["facets"].update(sql={"query": "select '\u0000'"})),
        (
            "dataSource uri that is not a URI",
            lambda e: e.update(
                inputs=[
                    {
                        "namespace": "bigquery",
                        "name": "p.d.t",
                        "facets": {"dataSource": {"name": "bigquery", "uri": "bigquery"}},
                    }
                ]
            ),
        ),
    ],
)
def test_sloppy_but_real_producer_output_is_accepted(client, name, mutate):
    before = client.stored()
    response = client.post(_event_with(mutate))
    assert response.status_code == 201, response.text
    assert client.stored() == before + 1


def test_utf8_bom_is_accepted(client):
    assert client.post(b"\xef\xbb\xbf" + json.dumps(fresh_event()).encode()).status_code == 201


def test_body_over_the_limit_is_413_before_it_is_read(client):
    before = client.stored()
    response = client.post(b"[" + b" " * (17 * 1024 * 1024) + b"]")
    assert response.status_code == 413 and "max_body_bytes" in response.json()["detail"]
    assert "Retry-After" not in response.headers
    assert client.stored() == before


def test_gzip_bomb_is_413_after_inflating_only_up_to_the_limit(client):
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024
    response = client.post(bomb, Content_Encoding="gzip")
    assert response.status_code == 413 and "gzip-inflated" in response.json()["detail"]


def test_missing_content_type_is_read_as_json(client):
    response = requests.post(
        client.server.url + LINEAGE,
        data=json.dumps(fresh_event()).encode(),
        headers={"Authorization": f"Bearer {client.server.token}"},
        timeout=30,
    )
    assert response.status_code == 201


# --- auth ---------------------------------------------------------------------------------------


def test_no_token_is_401_with_bearer_challenge(client):
    response = requests.post(client.server.url + LINEAGE, json=fresh_event(), timeout=30)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", ["Bearer olc_not-a-real-token", "Bearer garbage", "Basic YWRtaW46YWRtaW4="])
def test_unknown_tokens_are_401(client, authorization):
    response = requests.post(
        client.server.url + LINEAGE, json=fresh_event(), headers={"Authorization": authorization}, timeout=30
    )
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_namespace_limited_token_is_403_elsewhere(client):
    limited = client.server.create_token("limited-" + uuid.uuid4().hex[:6], "--namespace", "allowed")
    assert client.send(fresh_event("allowed"), token=limited).status_code == 201
    before = client.stored()
    response = client.send(fresh_event("other"), token=limited)
    assert response.status_code == 403 and "'other'" in response.json()["detail"]
    assert client.stored() == before


def test_token_without_read_access_cannot_read(client):
    writer = client.server.create_token("writer-" + uuid.uuid4().hex[:6])
    assert client.get("ol-catalog/api/v1/events/lineage", token=writer).status_code == 403
    assert client.get("ol-catalog/api/v1/events/lineage").status_code == 200


def test_revoked_token_stops_working(client):
    name = "revoked-" + uuid.uuid4().hex[:6]
    secret = client.server.create_token(name)
    assert client.send(fresh_event(), token=secret).status_code == 201
    client.server.cli("ol-catalog", "tokens", "revoke", name)
    time.sleep(5.5)  # the api-server caches verified tokens for 5 s
    assert client.send(fresh_event(), token=secret).status_code == 401
    listed = client.server.cli("ol-catalog", "tokens", "list", "--all").stdout
    assert name in listed and secret not in listed


def test_airflow_login_of_an_admin_may_send_and_a_viewer_may_only_read(client):
    admin, viewer = client.server.jwt("admin"), client.server.jwt("viewer")
    assert client.send(fresh_event(), token=admin).status_code == 201
    refused = client.send(fresh_event(), token=viewer)
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]
    assert client.get("ol-catalog/api/v1/events/lineage", token=viewer, limit=1).status_code == 200


def test_namespace_cli_shows_counts_and_integrations(client):
    namespace = "shown-" + uuid.uuid4().hex[:6]
    client.send(fresh_event(namespace))
    shown = client.server.cli("ol-catalog", "namespaces", "show", namespace).stdout
    assert "events:        1 (quarantined: 0)" in shown and "integrations:  AIRFLOW" in shown
    assert namespace in client.server.cli("ol-catalog", "namespaces", "list").stdout


def test_refused_requests_are_logged_for_admins_and_counted_in_stats(client):
    marker = "refusal-" + uuid.uuid4().hex[:8]
    assert client.post('{"truncated": ', path=LINEAGE + "?" + marker).status_code == 400
    batch = client.send([fresh_event(), {"eventTime": marker}], path=LINEAGE + "/batch")
    assert batch.status_code == 207
    admin = client.server.jwt("admin")
    deadline = time.monotonic() + 15
    while True:  # the log is written about once a second
        logged = client.get("ol-catalog/api/v1/admin/refusals", token=admin, limit=50).json()["refusals"]
        mine = [
            r
            for r in logged
            if r["caller"] == "token:tests" and (r["status"] == 400 or r["detail"].startswith("batch event 1: "))
        ]
        if len(mine) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert {(r["status"], r["reason"]) for r in mine} >= {(400, "unreadable body"), (422, "invalid event")}
    assert all(r["path"].startswith("/ol-catalog/api/v1/lineage") and r["remote"] == "127.0.0.1" for r in mine)
    stats = client.get("ol-catalog/api/v1/stats").json()
    assert stats["refusedByReason"]["unreadable body"] >= 1
    assert client.get("ol-catalog/api/v1/admin/refusals", token=client.server.jwt("viewer")).status_code == 403
