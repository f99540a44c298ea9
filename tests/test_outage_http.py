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
