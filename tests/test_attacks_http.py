"""Hostile input against a real api-server, on SQLite and PostgreSQL: every refusal is a 4xx that
names what is wrong, nothing accepted is lost, and a scoped token cannot reach past its scope."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from test_ingest_http import LINEAGE, Client, fresh_event

pytestmark = pytest.mark.integration

EXTREME_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2025-01-15T10:00:00+99:00")


@pytest.fixture(scope="module")
def client(airflow_server):
    c = Client(airflow_server)
    yield c
    c.engine.dispose()


def api(client, path: str, **params):
    return client.get("ol-catalog/api/v1/" + path, **params)


# --- times -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("when", EXTREME_TIMES)
def test_event_times_beyond_the_calendar_are_422_naming_event_time(client, when):
    response = client.send(fresh_event("extreme", eventTime=when))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "eventTime"


def test_a_batch_refuses_only_its_event_with_an_extreme_time(client):
    namespace = "extreme-batch-" + uuid.uuid4().hex[:6]
    events = [fresh_event(namespace), fresh_event(namespace, eventTime=EXTREME_TIMES[0]), fresh_event(namespace)]
    response = client.send(events, path=LINEAGE + "/batch")
    assert response.status_code == 207, response.text
    assert [(f["index"], f["reason"].split(": ")[1]) for f in response.json()["failed_events"]] == [(1, "eventTime")]
    assert api(client, f"namespaces/{namespace}/jobs").json()["totalCount"] == 1
    assert api(client, "events/lineage", namespace=namespace).json()["totalCount"] == 2


@pytest.mark.parametrize("when", EXTREME_TIMES)
@pytest.mark.parametrize("path, parameter", [("events/lineage", "before"), ("events/lineage", "after"), ("lineage", "asOf")])
def test_query_times_beyond_the_calendar_are_422_naming_the_parameter(client, when, path, parameter):
    params = {parameter: when}
    if path == "lineage":
        params["nodeId"] = "job:extreme:none"
    response = api(client, path, **params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"query parameter {parameter}: ")


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
    assert response.json()["errors"][0]["path"] == "eventTime" and "ahead of the server's clock" in response.json()["detail"]
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert client.send(fresh_event("future", eventTime=soon)).status_code == 201
