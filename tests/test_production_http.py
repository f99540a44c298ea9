"""Proof under load: concurrent writers on PostgreSQL, fuzzed events, every route's auth (faults: test_faults_http.py)."""

from __future__ import annotations

import json
import os
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from catalog_snapshot import snapshot
from conftest import EXAMPLES as EXAMPLES_DIR
from http_client import LINEAGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import AirflowServer
from sqlalchemy import create_engine, select
from test_projection import REAL_EVENTS, _fresh_engine, send
from test_projection import event as run_event_at

from airflow_ol_catalog.store.tables import event

pytestmark = pytest.mark.integration


def post(server: AirflowServer, payload, token: str | None = None, path: str = LINEAGE) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return requests.post(
        server.url + path,
        data=body,
        headers={"Authorization": f"Bearer {token or server.token}", "Content-Type": "application/json"},
        timeout=60,
    )


# --- concurrency on PostgreSQL ------------------------------------------------------------------------


def interleaved_events() -> list[dict]:
    """Runs of 6 jobs over 4 shared datasets: START, RUNNING, COMPLETE of each, inputs and outputs overlapping."""
    shared = [{"namespace": "postgres://db:5432", "name": f"shop.public.t{i}"} for i in range(4)]
    events = []
    for j in range(6):
        for r in range(8):
            run_id = str(uuid.UUID(int=j * 100 + r))
            for k, state in enumerate(("START", "RUNNING", "COMPLETE")):
                payload = run_event_at(
                    state,
                    f"2026-02-0{1 + r % 8}T10:0{k}:00Z",
                    run_id=run_id,
                    inputs=[shared[j % 4], shared[(j + 1) % 4]],
                    outputs=[shared[(j + 2) % 4]],
                )
                payload["job"]["name"] = f"job{j}"
                payload["job"]["facets"]["documentation"] = {"description": f"job {j} run {r}"}
                events.append(payload)
    return events


@pytest.fixture(scope="module")
def four_workers(postgres):
    server = AirflowServer(
        postgres.create_database(f"airflow_workers_{os.getpid()}"), extra_env={"AIRFLOW__API__WORKERS": "4"}
    )
    try:
        yield server.start()
    finally:
        server.cleanup()


def test_32_clients_on_4_workers_give_the_catalog_a_serial_send_gives(four_workers):
    events = interleaved_events()
    random.Random(7).shuffle(events)
    sends = events + random.Random(8).sample(events, 40)  # some twice, as retries do
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(lambda p: post(four_workers, p).status_code, sends))
    assert set(statuses) == {201}
    engine = create_engine(four_workers.sql_alchemy_conn)
    with engine.connect() as conn:
        concurrent = snapshot(conn)
    engine.dispose()
    serial = _fresh_engine()
    send(serial, events)
    with serial.connect() as conn:
        assert concurrent == snapshot(conn)


# --- fuzzing the running endpoint -----------------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_events(draw):
    payload = json.loads(json.dumps(draw(st.sampled_from(REAL_EVENTS))))
    payload["run"] = {**payload.get("run", {}), "runId": str(uuid.uuid4())} if "run" in payload else payload.get("run")
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(payload) if p]
        target = draw(st.sampled_from(paths))
        parent = payload
        for key in target[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "text"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[target[-1]]
        elif action == "text":
            parent[target[-1]] = draw(
                st.sampled_from(["", "\u0000", "x" * 2000, "' OR 1=1 --", "../../etc/passwd", "\ud800"[:0] + "é" * 3])
            )
        else:
            parent[target[-1]] = draw(JSON_VALUES)
    return payload


def test_ten_thousand_mutated_events_never_get_a_5xx_and_every_201_is_stored():
    server = AirflowServer()
    try:
        server.start()
        mutations = []

        @settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(mutated_events())
        def collect(payload):
            mutations.append(payload)

        collect()
        assert len(mutations) >= 10_000
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda p: post(server, p), mutations))
        assert all(a.status_code < 500 for a in answers), {a.status_code for a in answers}
        assert all(a.status_code in (201, 400, 403, 422) for a in answers), {a.status_code for a in answers}
        accepted = {a.json()["eventId"] for a in answers if a.status_code == 201}
        engine = create_engine(server.sql_alchemy_conn)
        with engine.connect() as conn:
            stored = set(conn.execute(select(event.c.id)).scalars())
        engine.dispose()
        assert accepted == stored and len(accepted) > 100
    finally:
        server.cleanup()


def test_schemathesis_finds_no_server_error_in_the_openapi_document():
    """Property-based requests for every operation the OpenAPI document describes, as an admin."""
    import subprocess

    from servers import BIN

    server = AirflowServer()
    try:
        server.start()
        token = server.create_token("schemathesis", "--admin")
        server.cli("ol-catalog", "send", str(EXAMPLES_DIR), "--url", server.url, "--token", token)
        result = subprocess.run(
            [
                str(BIN / "st"),
                "run",
                server.url + "ol-catalog/openapi.json",
                "--url",
                server.url + "ol-catalog",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--workers",
                "2",
                "--seed",
                "1",
                "--generation-database",
                ":memory:",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        server.cleanup()
