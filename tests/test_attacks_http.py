"""Hostile input against a real api-server, on SQLite and PostgreSQL: every refusal is a 4xx that
names what is wrong, nothing accepted is lost, and a scoped token cannot reach past its scope."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
from http_client import LINEAGE, fresh_event

pytestmark = pytest.mark.integration

EXTREME_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2025-01-15T10:00:00+99:00")


def api(client, path: str, **params):
    return client.get("ol-catalog/api/v1/" + path, **params)


# --- times -----------------------------------------------------------------------------------------


def test_a_batch_refuses_only_its_event_with_an_extreme_time(client):
    namespace = "extreme-batch-" + uuid.uuid4().hex[:6]
    events = [fresh_event(namespace), fresh_event(namespace, eventTime=EXTREME_TIMES[0]), fresh_event(namespace)]
    response = client.send(events, path=LINEAGE + "/batch")
    assert response.status_code == 200, response.text
    assert [(f["index"], f["reason"].split(": ")[1]) for f in response.json()["failed_events"]] == [(1, "eventTime")]
    assert api(client, f"namespaces/{namespace}/jobs").json()["totalCount"] == 1
    assert api(client, "events/lineage", namespace=namespace).json()["totalCount"] == 2


def test_the_first_instant_of_the_calendar_is_stored_and_read_back(client):
    namespace = "year-one-" + uuid.uuid4().hex[:6]
    payload = fresh_event(namespace, eventTime="0001-01-01T00:00:00Z", eventType="COMPLETE")
    assert client.send(payload).status_code == 201
    job = f"job:{namespace}:{payload['job']['name']}"
    assert api(client, "lineage", nodeId=job, asOf="0001-01-01T00:00:00Z").status_code == 200
    events = api(client, "events/lineage", namespace=namespace, before="0001-01-02T00:00:00Z").json()
    assert events["totalCount"] == 1
    runs = api(client, f"namespaces/{namespace}/jobs/{payload['job']['name']}/runs").json()["runs"]
    assert runs[0]["state"] == "COMPLETED"
    assert api(client, "stats").status_code == 200


def test_events_dated_ahead_of_the_clock_are_refused(client):
    ahead = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    response = client.send(fresh_event("future", eventTime=ahead))
    assert response.status_code == 422, response.text
    assert (
        response.json()["errors"][0]["path"] == "eventTime"
        and "ahead of the server's clock" in response.json()["detail"]
    )
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert client.send(fresh_event("future", eventTime=soon)).status_code == 201


# --- NUL -------------------------------------------------------------------------------------------


def test_nul_outside_identifiers_is_stored_as_sent_and_shown_as_a_replacement_character(client):
    namespace = "nul-" + uuid.uuid4().hex[:6]
    payload = fresh_event(
        namespace, eventType="COMPLETE", schemaURL="https://openlineage.io/spec/2-0-2/OpenLineage.json#\x00"
    )
    payload["job"]["facets"]["odd\x00facet"] = {"value": "a\x00b"}
    payload["outputs"] = [
        {
            "namespace": "s3://nul",
            "name": namespace,
            "facets": {
                "schema": {"fields": [{"name": "col\x00umn", "type": "string"}]},
                "columnLineage": {
                    "fields": {
                        "col\x00umn": {"inputFields": [{"namespace": "s3://nul", "name": "src", "field": "in\x00put"}]}
                    }
                },
            },
        }
    ]
    answer = client.send(payload)
    assert answer.status_code == 201, answer.text
    stored = api(client, "events/lineage", namespace=namespace).json()["events"]
    assert stored == [payload]
    job = api(client, f"namespaces/{namespace}/jobs/{payload['job']['name']}").json()
    assert job["facets"]["odd\ufffdfacet"] == {"value": "a\ufffdb"}
    dataset = api(client, f"namespaces/s3%3A%2F%2Fnul/datasets/{namespace}").json()
    assert [f["name"] for f in dataset["fields"]] == ["col\ufffdumn"]


def test_the_refusal_log_keeps_a_refusal_whose_message_holds_nul_and_its_neighbours(client):
    marker = "nul-refusal-" + uuid.uuid4().hex[:8]
    payload = fresh_event("nul-refusals")
    payload["run"]["facets"]["\x00" * 250] = {}
    assert client.send(payload, path=LINEAGE + "?" + marker).status_code == 422
    assert client.post('{"truncated": ', path=LINEAGE + "?" + marker).status_code == 400
    admin = client.server.jwt("admin")
    deadline = time.monotonic() + 15
    while True:  # the log is written about once a second
        logged = client.get("ol-catalog/api/v1/admin/refusals", token=admin, limit=100).json()["refusals"]
        statuses = sorted(
            r["status"]
            for r in logged
            if r["caller"] == "token:tests"
            and r["detail"]
            and (
                "\\0" in r["detail"]
                or "truncated" in r["detail"]
                or "unexpected end" in r["detail"].lower()
                or r["status"] == 400
            )
        )
        if (400 in statuses and 422 in statuses) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert 400 in statuses and 422 in statuses
    assert any("\\0" in r["detail"] for r in logged if r["status"] == 422)


# --- names with slashes ------------------------------------------------------------------------------


def _write(client, namespace: str, job: str, outputs: list[tuple[str, str]], run_id: str | None = None) -> None:
    payload = fresh_event(namespace, eventType="COMPLETE")
    payload["job"]["name"] = job
    if run_id:
        payload["run"]["runId"] = run_id
    payload["outputs"] = [
        {"namespace": ns, "name": name, "facets": {"schema": {"fields": [{"name": name.replace("/", "_")}]}}}
        for ns, name in outputs
    ]
    assert client.send(payload).status_code == 201


def test_encoded_slashes_stay_inside_the_name_they_belong_to(client):
    bucket = "s3://lake-" + uuid.uuid4().hex[:6]
    namespace = "slashes-" + uuid.uuid4().hex[:6]
    _write(
        client,
        namespace,
        "writer",
        [(bucket, "datasets/orders"), (bucket + "/datasets", "orders"), (bucket, "raw/versions"), (bucket, "raw")],
    )
    enc = quote(bucket, safe="")
    one = api(client, f"namespaces/{enc}/datasets/datasets%2Forders").json()
    assert (one["namespace"], one["name"]) == (bucket, "datasets/orders")
    other = api(client, f"namespaces/{quote(bucket + '/datasets', safe='')}/datasets/orders").json()
    assert (other["namespace"], other["name"]) == (bucket + "/datasets", "orders")
    raw_versions = api(client, f"namespaces/{enc}/datasets/raw%2Fversions").json()
    assert raw_versions["name"] == "raw/versions"
    assert api(client, f"namespaces/{enc}/datasets/raw%2Fversions/versions").json()["totalCount"] == 1
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    hidden = requests.delete(
        client.server.url + f"ol-catalog/api/v1/namespaces/{enc}/datasets/datasets%2Forders", headers=admin, timeout=30
    )
    assert hidden.status_code == 200, hidden.text
    assert api(client, f"namespaces/{enc}/datasets/datasets%2Forders").status_code == 404
    assert api(client, f"namespaces/{quote(bucket + '/datasets', safe='')}/datasets/orders").status_code == 200
    assert api(client, f"namespaces/{enc}/datasets/100%25%2Fdone").status_code == 404


def test_job_names_and_run_ids_with_slashes_and_percent_signs(client):
    namespace = "slash-jobs-" + uuid.uuid4().hex[:6]
    run_id = "manual/2025-01-15 100%"
    _write(client, namespace, "dag/task%2F", [("s3://slash-jobs", namespace)], run_id)
    job = api(client, f"namespaces/{namespace}/jobs/{quote('dag/task%2F', safe='')}").json()
    assert job["name"] == "dag/task%2F"
    assert api(client, f"namespaces/{namespace}/jobs/{quote('dag/task%2F', safe='')}/runs").json()["totalCount"] == 1
    assert api(client, f"jobs/runs/{quote(run_id, safe='')}").json()["id"] == run_id
    assert api(client, f"jobs/runs/{quote(run_id, safe='')}/facets").json()["runId"] == run_id


def test_names_with_line_breaks_are_reached_by_their_path(client):
    """Airflow mounts the catalog with a pattern that stops at a line break; the catalog's root
    middleware lets such paths through, so every name ingestion accepts can be read back."""
    namespace = "breaks-" + uuid.uuid4().hex[:6]
    for name in ("nl\njob", "cr\rjob", "both\r\njob"):
        _write(client, namespace, name, [("s3://breaks", namespace + "/" + name)])
        job = api(client, f"namespaces/{namespace}/jobs/{quote(name, safe='')}")
        assert job.status_code == 200 and job.json()["name"] == name, job.text
        dataset = api(client, f"namespaces/s3:%2F%2Fbreaks/datasets/{quote(namespace + '/' + name, safe='')}")
        assert dataset.status_code == 200 and dataset.json()["name"] == namespace + "/" + name, dataset.text
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    refused = requests.put(client.server.url + "ol-catalog/api/v1/tags/a%0Ab", headers=admin, timeout=30)
    assert refused.status_code == 422 and "tag name" in refused.json()["detail"], refused.text


def test_marquez_python_reads_names_with_slashes(client):
    from marquez_client import MarquezClient

    bucket = "s3://marquez-" + uuid.uuid4().hex[:6]
    _write(client, "slash-marquez", "copy", [(bucket, "datasets/orders"), (bucket + "/datasets", "orders")])
    marquez = MarquezClient(client.server.url + "ol-catalog", api_key=client.server.token)
    assert marquez.get_dataset(bucket, "datasets/orders")["namespace"] == bucket
    assert marquez.get_dataset(bucket + "/datasets", "orders")["name"] == "orders"


# --- what the database would refuse -----------------------------------------------------------------


def test_column_lineage_too_long_for_its_columns_is_422_naming_the_field(client):
    payload = fresh_event("too-long", eventType="COMPLETE")
    payload["outputs"] = [
        {
            "namespace": "s3://too-long",
            "name": "out",
            "facets": {
                "columnLineage": {
                    "fields": {
                        "a": {
                            "inputFields": [
                                {
                                    "namespace": "s3://too-long",
                                    "name": "in",
                                    "field": "b",
                                    "transformations": [{"type": "INDIRECT_OR_DIRECT"}],
                                }
                            ]
                        }
                    }
                }
            },
        }
    ]
    answer = client.send(payload)
    assert answer.status_code == 422, answer.text
    assert (
        answer.json()["errors"][0]["path"]
        == "outputs[0].facets.columnLineage.fields.a.inputFields[0].transformations[0].type"
    )


# --- what a namespace-limited token may change ------------------------------------------------------


@pytest.fixture(scope="module")
def team_token(client):
    """A token limited to the job namespace `team-a` and the dataset namespace `s3://team-a`."""
    name = "team-a-" + uuid.uuid4().hex[:6]
    return client.server.create_token(name, "--namespace", "team-a", "--namespace", "s3://team-a", "--read")


def _victim(client) -> tuple[str, str]:
    """A dataset outside team-a's namespaces, described by a legitimate producer."""
    victim = ("s3://victim-" + uuid.uuid4().hex[:6], "orders")
    legit = fresh_event("victims", eventType="COMPLETE")
    legit["outputs"] = [
        {
            "namespace": victim[0],
            "name": victim[1],
            "facets": {
                "schema": {"fields": [{"name": "id", "type": "int"}]},
                "documentation": {"description": "the real orders"},
            },
        }
    ]
    assert client.send(legit).status_code == 201
    return victim


def _dataset(client, namespace: str, name: str) -> dict:
    answer = api(client, f"namespaces/{quote(namespace, safe='')}/datasets/{quote(name, safe='')}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_limited_token_records_lineage_to_a_foreign_dataset_but_cannot_describe_it(client, team_token):
    victim = _victim(client)
    attack = fresh_event("team-a", eventType="COMPLETE")
    attack["outputs"] = [
        {
            "namespace": victim[0],
            "name": victim[1],
            "facets": {
                "schema": {"fields": [{"name": "password", "type": "string"}]},
                "documentation": {"description": "pwned"},
                "ownership": {"owners": [{"name": "attacker"}]},
                "symlinks": {"identifiers": [{"namespace": "s3://team-a", "name": "mine", "type": "TABLE"}]},
            },
            "outputFacets": {"outputStatistics": {"rowCount": 1}},
        }
    ]
    assert client.send(attack, token=team_token).status_code == 201
    dataset = _dataset(client, *victim)
    assert [f["name"] for f in dataset["fields"]] == ["id"] and dataset["description"] == "the real orders"
    assert set(dataset["facets"]) == {"schema", "documentation"} and dataset["aliases"] == []
    assert (dataset["namespace"], dataset["name"]) == victim
    assert api(client, f"namespaces/{quote(victim[0], safe='')}/datasets/orders/versions").json()["totalCount"] == 1
    job = api(client, f"namespaces/team-a/jobs/{attack['job']['name']}").json()
    assert {"namespace": victim[0], "name": victim[1]} in job["outputs"]  # the lineage is its own statement


@pytest.mark.parametrize("attacker_first", [False, True])
def test_a_limited_token_changes_neither_the_spelling_nor_the_first_sighting_of_a_foreign_dataset(
    client, team_token, attacker_first
):
    """The namespace as first sent is shown, and the first sighting is createdAt: a limited sender
    naming a foreign dataset in another spelling, with an event time long ago, changes neither, in
    whichever order the events arrive. A dataset only it has named keeps what it sent."""
    victim = ("s3://victim-" + uuid.uuid4().hex[:6], "orders")
    legit = fresh_event("victims", eventType="COMPLETE")
    legit["outputs"] = [{"namespace": victim[0], "name": victim[1]}]
    attack = fresh_event("team-a", eventType="COMPLETE")
    attack["eventTime"] = "2000-01-01T00:00:00Z"
    attack["outputs"] = [
        {"namespace": victim[0].upper(), "name": victim[1]},
        {"namespace": "s3://elsewhere", "name": victim[0][5:]},  # named by nobody else
    ]
    for payload, token in [(legit, None), (attack, team_token)][:: -1 if attacker_first else 1]:
        assert client.send(payload, token=token).status_code == 201
    dataset = _dataset(client, *victim)
    assert (dataset["namespace"], dataset["id"]["namespace"]) == (victim[0], victim[0])
    assert dataset["createdAt"][:10] == legit["eventTime"][:10]
    alone = _dataset(client, "s3://elsewhere", victim[0][5:])
    assert alone["createdAt"].startswith("2000-01-01")


def test_a_limited_token_cannot_make_a_foreign_dataset_an_alias(client, team_token):
    victim = _victim(client)
    attack = fresh_event("team-a", eventType="COMPLETE")
    attack["outputs"] = [
        {
            "namespace": "s3://team-a",
            "name": "decoy-" + uuid.uuid4().hex[:6],
            "facets": {"symlinks": {"identifiers": [{"namespace": victim[0], "name": victim[1], "type": "PATH"}]}},
        }
    ]
    assert client.send(attack, token=team_token).status_code == 201
    assert _dataset(client, *victim)["aliases"] == []
    assert _dataset(client, "s3://team-a", attack["outputs"][0]["name"])["aliases"] == []
    assert _dataset(client, *victim)["name"] == victim[1]


def test_a_limited_token_describes_datasets_of_its_own_namespaces_in_any_spelling(client, team_token):
    name = "own-" + uuid.uuid4().hex[:6]
    owned = {
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "producer": "https://example.com/tests",
        "dataset": {"namespace": "S3://team-a/", "name": name, "facets": {"schema": {"fields": [{"name": "ok"}]}}},
    }
    assert client.send(owned, token=team_token).status_code == 201
    assert [f["name"] for f in _dataset(client, "s3://team-a", name)["fields"]] == ["ok"]
    foreign = {**owned, "dataset": {**owned["dataset"], "namespace": "s3://team-b"}}
    assert client.send(foreign, token=team_token).status_code == 403


def test_a_limited_token_cannot_create_or_link_jobs_outside_its_namespaces(client, team_token):
    elsewhere = "elsewhere-" + uuid.uuid4().hex[:6]
    child = fresh_event("team-a", eventType="COMPLETE")
    child["job"]["name"] = "child-" + uuid.uuid4().hex[:6]
    child["run"]["facets"]["parent"] = {
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": elsewhere, "name": "planted"},
    }
    assert client.send(child, token=team_token).status_code == 201
    assert api(client, f"namespaces/{elsewhere}/jobs/planted").status_code == 404
    assert api(client, f"namespaces/team-a/jobs/{child['job']['name']}").json()["parentJob"] is None
    same = fresh_event("team-a", eventType="COMPLETE")
    same["run"]["facets"]["parent"] = {
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "team-a", "name": "dag-" + uuid.uuid4().hex[:6]},
    }
    assert client.send(same, token=team_token).status_code == 201
    assert api(client, f"namespaces/team-a/jobs/{same['job']['name']}").json()["parentJob"]["namespace"] == "team-a"


def test_a_parent_facet_creates_no_job_in_a_hidden_namespace(client):
    hidden = "hidden-" + uuid.uuid4().hex[:6]
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    assert (
        requests.post(
            client.server.url + "ol-catalog/api/v1/admin/namespaces", json={"name": hidden}, headers=admin, timeout=30
        ).status_code
        == 201
    )
    assert (
        requests.delete(
            client.server.url + f"ol-catalog/api/v1/namespaces/{hidden}", headers=admin, timeout=30
        ).status_code
        == 200
    )
    child = fresh_event("parents", eventType="COMPLETE")
    child["run"]["facets"]["parent"] = {
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": hidden, "name": "planted"},
    }
    assert client.send(child).status_code == 201
    assert (
        requests.post(
            client.server.url + f"ol-catalog/api/v1/namespaces/{hidden}/restore", headers=admin, timeout=30
        ).status_code
        == 200
    )
    assert api(client, f"namespaces/{hidden}/jobs").json()["totalCount"] == 0


@pytest.mark.parametrize("path", ["lineage", "column-lineage", "impact"])
def test_node_ids_longer_than_any_name_are_422_not_a_lookup_per_colon(client, path):
    started = time.monotonic()
    answer = api(client, path, nodeId="dataset:" + ":" * 8000)
    assert answer.status_code == 422 and "nodeId" in answer.json()["detail"], answer.text[:300]
    assert time.monotonic() - started < 5


def test_a_nul_after_an_event_time_is_422_and_the_batch_keeps_its_good_events(client):
    namespace = "nul-time-" + uuid.uuid4().hex[:6]
    bad = fresh_event(namespace, eventTime=datetime.now(timezone.utc).isoformat() + "\x00")
    answer = client.send(bad)
    assert answer.status_code == 422 and answer.json()["errors"][0]["path"] == "eventTime", answer.text
    batch = client.send([fresh_event(namespace), bad], path=LINEAGE + "/batch")
    assert batch.status_code == 200, batch.text
    assert api(client, "events/lineage", namespace=namespace).json()["totalCount"] == 1


# --- costly events -------------------------------------------------------------------------------------


def _timed_while_sending(client, payload, path=LINEAGE) -> tuple[int, float, float]:
    """(status, seconds the send took, slowest answer of Airflow's health route meanwhile)."""
    import threading

    result = {}

    def send() -> None:
        started = time.monotonic()
        result["status"] = client.send(payload, path=path).status_code
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=send)
    thread.start()
    slowest = 0.0
    while thread.is_alive():
        started = time.monotonic()
        requests.get(client.server.url + "api/v2/monitor/health", timeout=60)
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    thread.join()
    return result["status"], result["seconds"], slowest


def test_the_most_symlinks_an_event_may_name_cost_seconds_at_most_and_block_no_one(client):
    namespace = "symlinks-" + uuid.uuid4().hex[:6]
    payload = fresh_event(namespace, eventType="COMPLETE")
    payload["outputs"] = [
        {
            "namespace": "s3://many-links",
            "name": f"{namespace}-{i}",
            "facets": {
                "symlinks": {
                    "identifiers": [
                        {"namespace": "hive://metastore", "name": f"{namespace}.t{i}_{k}", "type": "TABLE"}
                        for k in range(100)
                    ]
                }
            },
        }
        for i in range(10)
    ]
    status, seconds, slowest = _timed_while_sending(client, payload)
    assert status == 201 and seconds < 5 and slowest < 1.5, (status, seconds, slowest)
    payload["outputs"][0]["facets"]["symlinks"]["identifiers"].append(
        {"namespace": "hive://metastore", "name": "one-too-many"}
    )
    assert client.send(payload).status_code == 422


def test_a_batch_of_symlinked_events_costs_seconds_at_most_and_blocks_no_one(client):
    namespace = "symlink-batch-" + uuid.uuid4().hex[:6]
    batch = []
    for i in range(1000):
        payload = fresh_event(namespace, eventType="COMPLETE")
        payload["outputs"] = [
            {
                "namespace": "s3://batch-links",
                "name": f"{namespace}-{i}",
                "facets": {
                    "symlinks": {
                        "identifiers": [{"namespace": "hive://metastore", "name": f"{namespace}.t{i}", "type": "TABLE"}]
                    }
                },
            }
        ]
        batch.append(payload)
    status, seconds, slowest = _timed_while_sending(client, batch, path=LINEAGE + "/batch")
    assert status == 200 and seconds < 10 and slowest < 1.5, (status, seconds, slowest)


def test_a_five_megabyte_event_does_not_stop_airflows_routes_while_it_is_stored(client):
    payload = fresh_event("big-event", eventType="COMPLETE")
    payload["outputs"] = [
        {
            "namespace": "s3://big-event",
            "name": "out-" + uuid.uuid4().hex[:6],
            "facets": {
                "columnLineage": {
                    "fields": {
                        f"f{i}": {
                            "inputFields": [
                                {"namespace": "s3://big-event", "name": f"in{k % 50}", "field": f"c{k}"}
                                for k in range(100)
                            ]
                        }
                        for i in range(1000)
                    }
                }
            },
        }
    ]
    status, seconds, slowest = _timed_while_sending(client, payload)
    assert status == 201 and slowest < 1.0, (status, seconds, slowest)


@pytest.mark.parametrize(
    "body, headers, status, message",
    [
        (lambda e: e.replace('"producer"', '"tiny": 1e-400, "producer"'), {}, 400, "too small for a double"),
        (lambda e: e.replace('"producer"', f'"huge": {"9" * 5000}, "producer"'), {}, 400, "5000 digits"),
        (lambda e: e, {"Content-Type": "application/json; charset=utf-16"}, 415, "UTF-8"),
    ],
)
def test_numbers_and_encodings_the_catalog_would_not_keep_as_sent_are_refused(client, body, headers, status, message):
    import json as json_module

    headers = {"Content-Type": "application/json", **headers, "Authorization": f"Bearer {client.server.token}"}
    answer = requests.post(
        client.server.url + LINEAGE,
        data=body(json_module.dumps(fresh_event("odd-bodies"))).encode(),
        headers=headers,
        timeout=60,
    )
    assert answer.status_code == status and message in answer.json()["detail"], answer.text


def test_gzip_with_bytes_after_it_is_400(client):
    import gzip
    import json as json_module

    body = gzip.compress(json_module.dumps(fresh_event("gzip-tail")).encode()) + b"garbage"
    answer = client.post(body, Content_Encoding="gzip")
    assert answer.status_code == 400 and "follow the gzip data" in answer.json()["detail"], answer.text


def test_a_run_id_reused_by_another_job_does_not_stand_in_for_the_first_run(client, team_token):
    victim = fresh_event("victim-jobs", eventType="COMPLETE")
    assert client.send(victim).status_code == 201
    shadow = fresh_event("team-a", eventType="FAIL", eventTime="2025-06-01T00:00:00Z")  # newer than the victim's run
    shadow["run"]["runId"] = victim["run"]["runId"]
    shadow["run"]["facets"]["errorMessage"] = {"message": "PWNED", "programmingLanguage": "python"}
    assert client.send(shadow, token=team_token).status_code == 201
    found = api(client, f"jobs/runs/{victim['run']['runId']}").json()
    assert (found["state"], found["jobVersion"]["namespace"]) == ("COMPLETED", "victim-jobs")


def test_a_hidden_job_is_named_as_no_ones_parent(client):
    namespace = "hidden-parent-" + uuid.uuid4().hex[:6]
    admin = {"Authorization": f"Bearer {client.server.jwt('admin')}"}
    parent = fresh_event(namespace, eventType="COMPLETE")
    parent["job"]["name"] = "dag"
    assert client.send(parent).status_code == 201
    assert (
        requests.delete(
            client.server.url + f"ol-catalog/api/v1/namespaces/{namespace}/jobs/dag", headers=admin, timeout=30
        ).status_code
        == 200
    )
    child = fresh_event(namespace, eventType="COMPLETE")
    child["job"]["name"] = "dag.task"
    child["run"]["facets"]["parent"] = {
        "run": {"runId": parent["run"]["runId"]},
        "job": {"namespace": namespace, "name": "dag"},
    }
    assert client.send(child).status_code == 201
    assert api(client, f"namespaces/{namespace}/jobs/dag.task").json()["parentJob"] is None
    graph = api(client, "lineage", nodeId=f"job:{namespace}:dag.task").json()["graph"]
    assert [n["data"]["parentJob"] for n in graph if n["id"] == f"job:{namespace}:dag.task"] == [None]


def test_every_operation_states_its_auth_in_the_openapi_document(client):
    spec = requests.get(client.server.url + "ol-catalog/openapi.json", timeout=10).json()
    assert set(spec["components"]["securitySchemes"]) == {"catalogToken", "airflowLogin"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["description"].startswith("Auth: "), (method, path)
            if path != "/health":
                assert operation["security"] and {"401", "403"} <= set(operation["responses"]), (method, path)
    restore = spec["paths"]["/api/v1/namespaces/{namespace}/restore"]["post"]
    assert restore["security"] == [{"airflowLogin": []}] and "never a token" in restore["description"]
