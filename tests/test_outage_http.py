"""A catalog database outage under a running api-server: 503 with Retry-After, nothing half-stored, recovery."""

from __future__ import annotations

import time

import pytest
import requests

from servers import AirflowServer, PostgresServer
from test_ingest_http import LINEAGE, fresh_event

pytestmark = pytest.mark.integration


def test_outage_answers_503_with_retry_after_then_recovers():
    postgres = PostgresServer().start()
    server = AirflowServer(extra_env={"AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN": postgres.create_database("catalog")})
    try:
        server.start()
        headers = {"Authorization": f"Bearer {server.token}"}

        def post(payload):
            return requests.post(server.url + LINEAGE, json=payload, headers=headers, timeout=60)

        assert post(fresh_event("outage")).status_code == 201
        postgres.pause()
        during = fresh_event("outage")
        refused = post(during)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "5" and "unavailable" in refused.json()["detail"]
        assert requests.get(server.url + "ol-catalog/health", timeout=30).status_code == 503
        postgres.resume()
        deadline = time.monotonic() + 60
        while True:  # the client retries, as openlineage-python does on 503
            answer = post(during)
            if answer.status_code == 201 or time.monotonic() > deadline:
                break
            assert answer.status_code == 503, answer.text
            time.sleep(0.5)
        assert answer.status_code == 201 and answer.json()["duplicate"] is False  # the refused attempt stored nothing
        assert post(during).json()["duplicate"] is True
    finally:
        server.cleanup()
        postgres.stop()


def test_a_ten_second_outage_under_a_stream_loses_nothing_the_openlineage_client_sent():
    """openlineage-python's http transport retries 503s after Retry-After: every emit that returned is stored."""
    import threading
    import uuid

    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    postgres = PostgresServer().start()
    server = AirflowServer(extra_env={"AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN": postgres.create_database("catalog")})
    try:
        server.start()
        client = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict({
            "type": "http", "url": server.url, "endpoint": "ol-catalog/api/v1/lineage", "auth": {"type": "api_key", "apiKey": server.token},
        })))
        sent: list[str] = []
        failed: list[str] = []
        stop = threading.Event()

        def stream() -> None:
            while not stop.is_set():
                run_id = str(uuid.uuid4())
                try:
                    client.emit(RunEvent(eventType=RunState.COMPLETE, eventTime="2026-04-01T10:00:00Z", run=Run(runId=run_id),
                                         job=Job(namespace="outage", name="stream"), producer="https://example.com/producer"))
                    sent.append(run_id)
                except Exception:
                    failed.append(run_id)

        streams = [threading.Thread(target=stream) for _ in range(2)]
        for t in streams:
            t.start()
        time.sleep(3)
        before = len(sent)
        postgres.pause()
        time.sleep(10)
        postgres.resume()
        time.sleep(8)
        stop.set()
        for t in streams:
            t.join(120)
        assert before > 0 and len(sent) > before and not failed
        stored = requests.get(server.url + "ol-catalog/api/v1/events/lineage", params={"namespace": "outage", "limit": 1}, headers={"Authorization": f"Bearer {server.token}"}, timeout=30).json()
        assert stored["totalCount"] == len(sent)
    finally:
        server.cleanup()
        postgres.stop()
