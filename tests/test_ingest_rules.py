"""The ingestion endpoint's rules, in process (tests/inprocess.py): receipts, batches, every refusal
a 4xx naming the problem and storing nothing, tokens. What only a real api-server shows (Airflow
logins, producers' clients, the command line, PostgreSQL) stays in test_ingest_http.py."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from http_client import fresh_event
from test_events import run_event

from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.datamodels.ingest import BatchResult, EventReceipt

LINEAGE = "api/v1/lineage"


@pytest.fixture(scope="module")
def client(catalog_api):
    return catalog_api


def test_receipt_names_the_event(client):
    payload = fresh_event("receipts")
    body = EventReceipt.model_validate(client.send(payload).json()).model_dump()
    assert body["namespace"] == "receipts" and body["kind"] == "run" and body["eventType"] == "START"
    assert body["runId"] == payload["run"]["runId"] and body["duplicate"] is False and body["quarantined"] is False


@pytest.mark.parametrize(
    "path",
    [LINEAGE, "events/openlineage/generic-openlineage/api/v1/lineage", "open_lineage_event/"],
)
def test_alias_paths_answer_like_the_main_endpoint(client, path):
    response = client.send(fresh_event("aliases"), path=path)
    assert response.status_code == 201, response.text


def test_events_list_pages_and_filters_like_marquez(client):
    namespace = "paging-" + uuid.uuid4().hex[:6]
    for hour in range(5):
        client.send(fresh_event(namespace, eventTime=f"2025-02-01T{10 + hour:02d}:00:00Z"))
    page = client.get("api/v1/events/lineage", namespace=namespace, limit=2).json()
    assert page["totalCount"] == 5
    assert [e["eventTime"] for e in page["events"]] == ["2025-02-01T14:00:00Z", "2025-02-01T13:00:00Z"]
    window = client.get(
        "api/v1/events/lineage",
        namespace=namespace,
        after="2025-02-01T10:30:00Z",
        before="2025-02-01T13:30:00",
        sortDirection="asc",
    ).json()
    assert [e["eventTime"][11:13] for e in window["events"]] == ["11", "12", "13"]
    bad = client.get("api/v1/events/lineage", before="soon")
    assert bad.status_code == 422 and "before" in bad.json()["detail"]


def test_events_list_filters_by_job_type_and_producer(client):
    namespace = "event-filters-" + uuid.uuid4().hex[:6]
    spark = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark"
    sent = [
        fresh_event(namespace, eventType="START"),
        fresh_event(namespace, eventType="COMPLETE"),
        fresh_event(namespace, eventType="FAIL", producer=spark),
    ]
    sent[2]["job"]["name"] = "other.job"
    for payload in sent:
        assert client.send(payload).status_code == 201

    def listed(**filters) -> list[tuple[str, str, str]]:
        page = client.get("api/v1/events/lineage", namespace=namespace, sortDirection="asc", **filters).json()
        assert page["totalCount"] == len(page["events"])
        return [(e["eventType"], e["job"]["name"], e["producer"]) for e in page["events"]]

    job = sent[0]["job"]["name"]
    assert [t for t, _, _ in listed(job=job)] == ["START", "COMPLETE"]
    assert listed(job="other.job") == [("FAIL", "other.job", spark)]
    assert listed(eventType="COMPLETE") == [("COMPLETE", job, sent[1]["producer"])]
    assert listed(producer=spark) == [("FAIL", "other.job", spark)]
    assert listed(job=job, eventType="FAIL") == []
    bad = client.get("api/v1/events/lineage", eventType="DONE")
    assert bad.status_code == 422 and "eventType" in bad.json()["detail"], bad.text


# --- batches ---------------------------------------------------------------------------------


def test_batch_of_valid_events_is_stored(client):
    events = [fresh_event("batch"), fresh_event("batch")]
    response = client.send(events, path=LINEAGE + "/batch")
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "summary": {"received": 2, "successful": 2, "duplicates": 0, "failed": 0, "retriable": 0, "non_retriable": 0},
        "failed_events": [],
        "warnings": [],
    }


def test_a_batch_is_decoded_checked_and_stored_with_the_collector_paused(client, monkeypatch):
    """A batch's objects all live from decoding to the commit: a collection in between would only
    walk them (about 7 % of the API server's time under batches). The collector is paused from
    decoding until they are stored, and on again once the request is answered."""
    import gc

    from airflow_ol_catalog.api import ingest

    seen: list[tuple[str, bool]] = []
    checked, store = ingest._checked_batch, ingest._store

    def checking(*args, **kwargs):
        seen.append(("checked", gc.isenabled()))
        return checked(*args, **kwargs)

    async def storing(writer, submissions):
        seen.append(("stored", gc.isenabled()))
        outcomes = await store(writer, submissions)
        seen.append(("committed", gc.isenabled()))
        return outcomes

    monkeypatch.setattr(ingest, "_checked_batch", checking)
    monkeypatch.setattr(ingest, "_store", storing)
    assert gc.isenabled()
    response = client.send([fresh_event("batch-paused") for _ in range(3)], path=LINEAGE + "/batch")
    assert response.status_code == 200, response.text
    assert seen == [("checked", False), ("stored", False), ("committed", False)]
    assert gc.isenabled()


def test_batch_with_bad_events_stores_the_good_ones(client):
    good = fresh_event("batch")
    missing_run_id = fresh_event("batch")
    del missing_run_id["run"]["runId"]
    before = client.stored()
    too_deep = fresh_event("batch")
    too_deep["run"]["facets"]["deep"] = {"v": _nested(600)}
    response = client.send([missing_run_id, good, "nonsense", good, too_deep], path=LINEAGE + "/batch")
    assert response.status_code == 200
    body = BatchResult.model_validate(response.json()).model_dump()
    assert body["status"] == "partial_success"
    assert body["summary"] == {
        "received": 5,
        "successful": 2,
        "duplicates": 1,
        "failed": 3,
        "retriable": 0,
        "non_retriable": 3,
    }
    assert [(f["index"], f["retriable"]) for f in body["failed_events"]] == [(0, False), (2, False), (4, False)]
    assert "limit of 200 levels" in body["failed_events"][2]["reason"]
    assert "run.runId: is required" in body["failed_events"][0]["reason"]
    assert client.stored() == before + 1


def test_an_empty_batch_is_a_success_that_stores_nothing(client):
    """Nothing failed: 200 with `success`, as its body says (it answered 422 with `success`)."""
    before = client.stored()
    response = client.send([], path=LINEAGE + "/batch")
    assert response.status_code == 200 and response.json()["status"] == "success", response.text
    assert response.json()["summary"]["received"] == 0 and client.stored() == before


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
        "limit of 200 levels",
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
    assert message in ErrorBody.model_validate(response.json()).detail
    assert client.stored() == before


def test_an_event_nested_to_the_limit_is_stored_and_every_read_of_it_answers(client):
    """max_json_depth (at most 200) leaves room for the levels the read API's answers add around an
    event's facets: JSON answers nest at most 255 levels. An event with job, run and dataset facets
    nested to the limit is stored, and the reads that show those facets answer 200; one level more
    is refused. (With a limit of 500, one such event made the list of every run answer 500.)"""
    from urllib.parse import quote

    from airflow_ol_catalog.events.decode import nesting_depth

    def deep(levels: int) -> dict:
        value: dict = {}
        for _ in range(levels):
            value = {"k": value}
        return {"_producer": "https://example.com/deep", "_schemaURL": "https://example.com/deep.json", "v": value}

    run_id = str(uuid.uuid4())
    sent = run_event(
        run={"runId": run_id, "facets": {"deep": deep(195)}},
        job={"namespace": "deep-ns", "name": "deep-job", "facets": {"deep": deep(195)}},
        outputs=[{"namespace": "deep-ns", "name": "deep-table", "facets": {"deep": deep(193)}}],
        eventType="COMPLETE",
    )
    assert nesting_depth(sent) == 200
    too_deep = json.loads(json.dumps(sent))
    too_deep["run"]["runId"] = str(uuid.uuid4())
    too_deep["job"]["facets"]["deep"] = deep(196)
    refused = client.post(json.dumps(too_deep).encode())
    assert refused.status_code == 400 and "limit of 200 levels" in refused.json()["detail"], refused.text
    assert client.post(json.dumps(sent).encode()).status_code == 201
    for path, params in [
        ("api/v1/namespaces/deep-ns/jobs/deep-job", {}),
        (f"api/v1/jobs/runs/{run_id}", {}),
        ("api/v1/runs", {}),
        ("api/v1/namespaces/deep-ns/jobs/deep-job/runs", {}),
        ("api/v1/lineage", {"nodeId": "job:deep-ns:deep-job", "depth": 5}),
        ("api/v1/namespaces/deep-ns/datasets/deep-table", {}),
        ("api/v1/events/lineage", {"runId": run_id}),
        ("api/v1/search", {"q": "deep"}),
        (f"api/v1/namespaces/{quote('deep-ns')}/jobs", {}),
    ]:
        answer = client.get(path, **params)
        assert answer.status_code == 200, (path, answer.text[:300])


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
    response = client.request("POST", LINEAGE, content=json.dumps(fresh_event()).encode())
    assert response.status_code == 201


# --- auth ---------------------------------------------------------------------------------------


def test_no_token_is_401_with_bearer_challenge(client):
    response = client.request("POST", LINEAGE, token="", json=fresh_event())
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", ["Bearer olc_not-a-real-token", "Bearer garbage", "Basic YWRtaW46YWRtaW4="])
def test_unknown_tokens_are_401(client, authorization):
    response = client.request("POST", LINEAGE, headers={"Authorization": authorization}, json=fresh_event())
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    ErrorBody.model_validate(response.json())


def test_namespace_limited_token_is_403_elsewhere(client):
    limited = client.create_token("limited-" + uuid.uuid4().hex[:6], ["allowed"])
    assert client.send(fresh_event("allowed"), token=limited).status_code == 201
    before = client.stored()
    response = client.send(fresh_event("other"), token=limited)
    assert response.status_code == 403 and "'other'" in response.json()["detail"]
    assert client.stored() == before


def test_token_without_read_access_cannot_read(client):
    writer = client.create_token("writer-" + uuid.uuid4().hex[:6])
    assert client.get("api/v1/events/lineage", token=writer).status_code == 403
    assert client.get("api/v1/events/lineage").status_code == 200


def test_a_token_revoked_through_the_api_stops_working_in_that_process_at_once(client):
    """The route revoked the token, and the process that answered it kept it verified for 5 s."""
    name = "revoked-api-" + uuid.uuid4().hex[:6]
    secret = client.create_token(name)
    assert client.send(fresh_event(), token=secret).status_code == 201  # verified, and kept
    admin = client.create_token(name + "-admin", admin=True)
    assert client.request("POST", f"api/v1/admin/tokens/{name}/revoke", admin).status_code == 200
    assert client.send(fresh_event(), token=secret).status_code == 401


def test_revoked_token_stops_working(client):
    name = "revoked-" + uuid.uuid4().hex[:6]
    secret = client.create_token(name)
    assert client.send(fresh_event(), token=secret).status_code == 201
    client.revoke_token(name)
    assert client.send(fresh_event(), token=secret).status_code == 401
    listed = client.get("api/v1/admin/tokens", client.create_token(name + "-admin", admin=True), includeRevoked=True)
    assert name in listed.text and secret not in listed.text
