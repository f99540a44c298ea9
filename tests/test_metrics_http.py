"""Metrics through Airflow's Stats reach a StatsD listener; health reports the event log."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from http_client import LINEAGE, fresh_event
from servers import AirflowServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def statsd():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def server(statsd):
    server = AirflowServer(
        extra_env={
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.getsockname()[1]),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        }
    )
    try:
        yield server.start()
    finally:
        server.cleanup()


def received(listener, seconds: float = 5.0) -> str:
    packets, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            packets.append(listener.recv(65536).decode())
        except TimeoutError:
            if packets:
                break
    return "\n".join(packets)


def test_ingestion_and_queries_are_measured(server, statsd):
    received(statsd, 1.0)  # what start-up sent
    auth = {"Authorization": f"Bearer {server.token}"}
    payload = fresh_event()
    assert requests.post(server.url + LINEAGE, json=payload, headers=auth, timeout=10).status_code == 201
    assert requests.post(server.url + LINEAGE, json=payload, headers=auth, timeout=10).json()["duplicate"] is True
    assert (
        requests.post(
            server.url + LINEAGE, data=b"{", headers={**auth, "Content-Type": "application/json"}, timeout=10
        ).status_code
        == 400
    )
    assert (
        requests.get(
            server.url + "ol-catalog/api/v1/lineage", params={"nodeId": "job:team-a:etl.load"}, headers=auth, timeout=10
        ).status_code
        == 200
    )
    metrics = received(statsd)
    for name in (
        "ol_catalog.events.accepted:1|c",
        "ol_catalog.events.duplicate:1|c",
        "ol_catalog.requests.201",
        "ol_catalog.requests.400",
        "ol_catalog.events.refused_requests",
        "ol_catalog.ingest.latency",
        "ol_catalog.ingest.commit",
        "ol_catalog.lineage.query",
    ):
        assert name in metrics, (name, metrics[-2000:])


def test_health_reports_the_event_log(server):
    body = requests.get(server.url + "ol-catalog/health", timeout=10).json()
    assert body["status"] == "healthy" and body["eventLog"]["quarantinedEvents"] == 0
    assert body["eventLog"]["lastEventReceivedAt"].endswith("Z")  # in UTC, as every time the API writes
