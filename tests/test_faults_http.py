"""Faults under a running api-server: a process killed mid-batch, the database stopped, locked by
another process, or refusing events. Each scenario ends with what was acknowledged, what is stored
and what was delivered twice (`fault_report`): nothing acknowledged may be lost, nothing stored twice.

Run alone with `bash scripts/test.sh -k faults`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
import uuid

import pytest
import requests
from http_client import LINEAGE, fresh_event, openlineage_client
from servers import AirflowServer, PostgresServer
from sqlalchemy import create_engine, func, select, text
from test_projection import event as run_event_at

from airflow_ol_catalog.store.tables import event, run

pytestmark = pytest.mark.integration


def post(server: AirflowServer, payload, path: str = LINEAGE, timeout: float = 120) -> requests.Response:
    body = json.dumps(payload).encode()
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    return requests.post(server.url + path, data=body, headers=headers, timeout=timeout)


def catalog_url(server: AirflowServer) -> str:
    return server.env.get("AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN", server.sql_alchemy_conn)


def stored_run_ids(server: AirflowServer) -> list[str]:
    engine = create_engine(catalog_url(server))
    try:
        with engine.connect() as conn:
            return conn.execute(select(event.c.run_id)).scalars().all()
    finally:
        engine.dispose()


def projected_runs(server: AirflowServer) -> int:
    engine = create_engine(catalog_url(server))
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(run)).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture
def fresh_server(backend, request):
    """An api-server of its own (the scenario kills or starves it), on the backend under test."""
    if backend == "sqlite":
        server = AirflowServer()
    else:
        server = AirflowServer(request.getfixturevalue("postgres").create_database(f"faults_{uuid.uuid4().hex[:8]}"))
    try:
        yield server.start()
    finally:
        server.cleanup()


# --- SIGKILL ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 100], ids=["single", "batch"])
def test_faults_sigkill_mid_stream_loses_nothing_acknowledged_and_stores_nothing_twice(
    fresh_server, backend, batch_size, fault_report
):
    server = fresh_server
    events = [run_event_at("COMPLETE", "2026-03-01T10:00:00Z", run_id=str(uuid.uuid4())) for _ in range(1200)]
    requests_ = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
    acknowledged: set[int] = set()  # indexes of requests answered 2xx
    killed = threading.Event()

    def send(index: int) -> requests.Response:
        if batch_size == 1:
            return post(server, requests_[index][0])
        return post(server, requests_[index], path=LINEAGE + "/batch")

    def stream(share: range) -> None:
        for i in share:
            try:
                if send(i).status_code in (200, 201):
                    acknowledged.add(i)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                pass  # the server is gone, maybe mid-answer: the client retries later

    def kill_midway() -> None:
        while len(acknowledged) * batch_size < 300:
            time.sleep(0.01)
        os.killpg(server.process.pid, signal.SIGKILL)
        killed.set()

    threading.Thread(target=kill_midway, daemon=True).start()
    streams = [threading.Thread(target=stream, args=(range(k, len(requests_), 4),)) for k in range(4)]
    for t in streams:
        t.start()
    for t in streams:
        t.join(300)
    assert killed.is_set() and acknowledged, "the stream ended before the kill"
    server.process.wait(10)
    server.process = None
    server.start_api_server()
    pending = [i for i in range(len(requests_)) if i not in acknowledged]
    assert pending, "every request was acknowledged before the kill"
    resent = random.Random(1).sample(sorted(acknowledged), min(5, len(acknowledged)))  # retried needlessly
    for i in pending + resent:
        assert send(i).status_code in (200, 201)
    stored = stored_run_ids(server)
    acknowledged_ids = {e["run"]["runId"] for i in acknowledged for e in requests_[i]}
    fault_report(
        f"api-server SIGKILL mid-stream, {'batches of 100' if batch_size > 1 else 'single events'} ({backend})",
        acknowledged=len(acknowledged_ids),
        stored=len(acknowledged_ids & set(stored)),
        delivered_twice=sum(len(requests_[i]) for i in resent),
        stored_twice=len(stored) - len(set(stored)),
    )
    assert sorted(stored) == sorted(e["run"]["runId"] for e in events)  # every event, each once
    assert projected_runs(server) == len(events)  # nothing half-written: every stored event projected


# --- the database stopped ------------------------------------------------------------------------------


def test_faults_postgresql_outage_answers_503_with_retry_after_then_recovers(fault_report):
    postgres = PostgresServer().start()
    server = AirflowServer(extra_env={"AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN": postgres.create_database("catalog")})
    try:
        server.start()
        assert post(server, fresh_event("outage")).status_code == 201
        postgres.pause()
        during = fresh_event("outage")
        refused = post(server, during)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "5" and "unavailable" in refused.json()["detail"]
        assert requests.get(server.url + "ol-catalog/health", timeout=30).status_code == 503
        postgres.resume()
        deadline = time.monotonic() + 60
        while True:  # the client retries, as openlineage-python does on 503
            answer = post(server, during)
            if answer.status_code == 201 or time.monotonic() > deadline:
                break
            assert answer.status_code == 503, answer.text
            time.sleep(0.5)
        assert answer.status_code == 201 and answer.json()["duplicate"] is False  # the refused attempt stored nothing
        assert post(server, during).json()["duplicate"] is True
        stored = stored_run_ids(server)
        fault_report(
            "PostgreSQL stopped and started, one event",
            acknowledged=2,
            stored=len(set(stored)),
            delivered_twice=1,
            stored_twice=len(stored) - len(set(stored)),
        )
    finally:
        server.cleanup()
        postgres.stop()


def test_faults_a_postgresql_that_is_read_only_locked_or_closes_connections_is_answered_503_never_422(fault_report):
    """PostgreSQL as operators meet it: a standby after a failover (read-only), a table locked whole
    for long by another session, connections closed under the server (a restart, an idle timeout),
    a database in another time zone. Read-only was answered 422 `retriable: false` (producers drop
    such events), admin writes 500 and health `healthy`; the lock held requests for as long as it
    lasted; the first write on a closed connection was answered 503; times came back in the
    database's offset. Now: 503 with Retry-After and nothing stored, health says why, the lock wait
    ends after LOCK_TIMEOUT_MS, a closed connection is replaced, times are UTC, and health answers
    within its bound while the server is frozen (it waited for it)."""
    import psycopg2

    from airflow_ol_catalog.store.engine import LOCK_TIMEOUT_MS

    postgres = PostgresServer().start()
    server = AirflowServer(extra_env={"AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN": postgres.create_database("catalog")})
    admin = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres")
    admin.autocommit = True

    def as_admin(*statements: str) -> None:
        with admin.cursor() as cur:
            for statement in statements:
                cur.execute(statement)

    close_sessions = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'catalog'"
    try:
        server.start()
        assert post(server, fresh_event("operated")).status_code == 201
        # a standby: nothing can be written
        as_admin("ALTER DATABASE catalog SET default_transaction_read_only = on", close_sessions)
        during = fresh_event("operated")
        refused = post(server, during)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5", refused.text
        batch = post(server, [fresh_event("operated"), fresh_event("operated")], path=LINEAGE + "/batch")
        assert batch.status_code == 503, batch.text
        token = requests.post(
            server.url + "ol-catalog/api/v1/admin/tokens",
            json={"name": "during-failover"},
            headers={"Authorization": f"Bearer {server.jwt('admin')}"},
            timeout=30,
        )
        assert token.status_code == 503 and token.headers["Retry-After"] == "5", token.text
        health = requests.get(server.url + "ol-catalog/health", timeout=30)
        assert health.status_code == 503 and health.json()["database"].startswith("read-only"), health.text
        as_admin("ALTER DATABASE catalog RESET default_transaction_read_only", close_sessions)
        # every connection the server holds was closed: the next write is stored all the same
        answer = post(server, during)
        assert answer.status_code == 201 and answer.json()["duplicate"] is False, answer.text
        # a table locked whole by another session: the wait ends, answered 503
        locker = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="catalog")
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE ol_catalog_run IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            locked = post(server, fresh_event("operated"))
            waited = time.monotonic() - started
        locker.rollback()
        locker.close()
        assert locked.status_code == 503 and locked.headers["Retry-After"] == "5", locked.text
        assert LOCK_TIMEOUT_MS / 1000 <= waited < LOCK_TIMEOUT_MS / 1000 + 15
        # another time zone: times still in UTC
        as_admin("ALTER DATABASE catalog SET timezone = 'Pacific/Kiritimati'", close_sessions)
        namespace = during["job"]["namespace"]
        runs = requests.get(
            server.url + f"ol-catalog/api/v1/namespaces/{namespace}/jobs/{during['job']['name']}/runs",
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        )
        assert runs.status_code == 200, runs.text
        times = [r[key] for r in runs.json()["runs"] for key in ("createdAt", "updatedAt", "startedAt")]
        assert len(times) == 6 and all(t.endswith("Z") for t in times), times
        # a frozen server: health answers in bounded time, again and again, and says so
        master = int((postgres.dir / "data" / "postmaster.pid").read_text().split()[0])
        frozen = [master, *(int(pid) for pid in os.popen(f"pgrep -P {master}").read().split())]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            for _ in range(3):
                started = time.monotonic()
                health = requests.get(server.url + "ol-catalog/health", timeout=60)
                assert health.status_code == 503 and "no answer" in health.json()["database"], health.text
                assert time.monotonic() - started < 10
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while requests.get(server.url + "ol-catalog/health", timeout=60).status_code != 200:
            assert time.monotonic() < deadline, "health did not recover"
            time.sleep(0.5)
        fault_report(
            "PostgreSQL read-only, then its sessions closed, a table locked, another time zone",
            acknowledged=2,
            stored=len(set(stored_run_ids(server))),
            delivered_twice=0,
        )
    finally:
        admin.close()
        server.cleanup()
        postgres.stop()


def test_faults_ten_second_postgresql_outage_under_a_stream_loses_nothing_the_openlineage_client_sent(fault_report):
    """openlineage-python's http transport retries 503s after Retry-After: every emit that returned is stored."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    postgres = PostgresServer().start()
    server = AirflowServer(extra_env={"AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN": postgres.create_database("catalog")})
    try:
        server.start()
        client = openlineage_client(server.url, server.token)
        sent: list[str] = []
        failed: list[str] = []
        stop = threading.Event()

        def stream() -> None:
            while not stop.is_set():
                run_id = str(uuid.uuid4())
                try:
                    client.emit(
                        RunEvent(
                            eventType=RunState.COMPLETE,
                            eventTime="2026-04-01T10:00:00Z",
                            run=Run(runId=run_id),
                            job=Job(namespace="outage", name="stream"),
                            producer="https://example.com/producer",
                        )
                    )
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
        stored = stored_run_ids(server)
        fault_report(
            "PostgreSQL stopped for 10 s under 2 openlineage-python streams",
            acknowledged=len(sent),
            stored=len(set(sent) & set(stored)),
            delivered_twice=0,
            stored_twice=len(stored) - len(set(stored)),
        )
        assert sorted(stored) == sorted(sent)
    finally:
        server.cleanup()
        postgres.stop()


# --- SQLite locked by another process -----------------------------------------------------------------


def test_faults_sqlite_locked_by_another_process_leaves_airflow_answering_and_ingest_503(fault_report):
    server = AirflowServer()
    try:
        server.start()
        database = server.sql_alchemy_conn.removeprefix("sqlite:///")
        payload = fresh_event("locked")
        holder = sqlite3.connect(database, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")  # as a long `airflow db` command or a backup would
        answers: dict[str, tuple[int, float]] = {}

        def timed(name: str, call) -> None:
            started = time.monotonic()
            answers[name] = (call().status_code, time.monotonic() - started)

        admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
        ingest = threading.Thread(target=timed, args=("ingest", lambda: post(server, payload)))
        create = threading.Thread(
            target=timed,
            args=(
                "admin",
                lambda: requests.post(
                    server.url + "ol-catalog/api/v1/admin/namespaces",
                    json={"name": "made-while-locked"},
                    headers=admin,
                    timeout=60,
                ),
            ),
        )
        ingest.start()
        create.start()  # waits for the lock on a thread, not on the event loop
        time.sleep(0.3)
        reads = {
            "airflow": lambda: requests.get(server.url + "api/v2/monitor/health", timeout=30),
            "catalog": lambda: requests.get(
                server.url + "ol-catalog/api/v1/namespaces",
                headers={"Authorization": f"Bearer {server.token}"},
                timeout=30,
            ),
        }
        for name, call in reads.items():
            timed(name, call)
        ingest.join(30)
        holder.execute("ROLLBACK")
        holder.close()
        create.join(30)
        assert answers["admin"][0] == 201, answers
        assert answers["airflow"][0] == 200 and answers["airflow"][1] < 1.0, answers
        assert answers["catalog"][0] == 200 and answers["catalog"][1] < 1.0, answers
        assert answers["ingest"][0] == 503 and answers["ingest"][1] < 3.0, answers
        again = post(server, payload)
        assert again.status_code == 201 and again.json()["duplicate"] is False  # the refused attempt stored nothing
        fault_report(
            "SQLite write-locked by another process, one event",
            acknowledged=1,
            stored=len(stored_run_ids(server)),
            delivered_twice=0,
            refused_while_locked=1,
            seconds_to_503=round(answers["ingest"][1], 2),
        )
    finally:
        server.cleanup()


# --- the database refusing events ---------------------------------------------------------------------

POISON_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER olc_test_poison BEFORE INSERT ON ol_catalog_event WHEN NEW.producer LIKE '%poison%'"
        " BEGIN SELECT RAISE(ABORT, 'poisoned event refused by a trigger'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION olc_test_poison() RETURNS trigger AS $$ BEGIN IF NEW.producer LIKE '%poison%' THEN"
        " RAISE EXCEPTION 'poisoned event refused by a trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER olc_test_poison BEFORE INSERT ON ol_catalog_event FOR EACH ROW EXECUTE FUNCTION olc_test_poison()",
    ],
}


@pytest.fixture
def poisoned_server(airflow_server):
    """The suite's api-server, whose database refuses every event of a `poison` producer while the test runs."""
    backend = "sqlite" if airflow_server.sql_alchemy_conn.startswith("sqlite") else "postgresql"
    engine = create_engine(airflow_server.sql_alchemy_conn)
    with engine.begin() as conn:
        for statement in POISON_TRIGGERS[backend]:
            conn.execute(text(statement))
    try:
        yield airflow_server, backend
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("DROP TRIGGER olc_test_poison" + (" ON ol_catalog_event" if backend == "postgresql" else ""))
            )
            if backend == "postgresql":
                conn.execute(text("DROP FUNCTION olc_test_poison()"))
        engine.dispose()


def test_faults_a_batch_the_database_refuses_event_by_event_costs_only_its_sender(poisoned_server, fault_report):
    server, backend = poisoned_server
    namespace = "poison-" + uuid.uuid4().hex[:6]
    batch = [fresh_event(namespace) for _ in range(2000)]
    poisoned = set(range(0, len(batch), 2))
    for i in poisoned:
        batch[i]["producer"] = "https://example.com/poison"
    latencies: list[float] = []
    done = threading.Event()

    def neighbour() -> None:  # another client of the same worker, sending single events meanwhile
        while not done.is_set():
            started = time.monotonic()
            assert post(server, fresh_event("neighbour")).status_code == 201
            latencies.append(time.monotonic() - started)
            time.sleep(0.02)

    log_before = (server.home / "api-server.log").read_text()
    thread = threading.Thread(target=neighbour)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    answer = post(server, batch, path=LINEAGE + "/batch", timeout=300)
    batch_seconds = time.monotonic() - started
    done.set()
    thread.join(60)
    assert answer.status_code == 200, answer.text[:500]
    failed = answer.json()["failed_events"]
    assert {f["index"] for f in failed} == poisoned
    assert all("poisoned event refused by a trigger" in f["reason"] and not f["retriable"] for f in failed)
    time.sleep(1)
    log = (server.home / "api-server.log").read_text()[len(log_before) :]
    assert log.count("the database refused event") == len(poisoned)
    assert "Traceback" not in log
    stored = [
        e["run"]["runId"]
        for e in requests.get(
            server.url + "ol-catalog/api/v1/events/lineage",
            params={"namespace": namespace, "limit": 1000},
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=60,
        ).json()["events"]
    ]
    assert sorted(stored) == sorted(batch[i]["run"]["runId"] for i in range(len(batch)) if i not in poisoned)
    fault_report(
        f"a 2,000-event batch with every other event refused by the database ({backend})",
        acknowledged=len(batch) - len(poisoned),
        stored=len(set(stored)),
        delivered_twice=0,
        stored_twice=len(stored) - len(set(stored)),
        batch_seconds=round(batch_seconds, 1),
        slowest_neighbour_seconds=round(max(latencies), 2),
    )
    assert len(latencies) > 5 and max(latencies) < 1.5, (
        f"a neighbour waited {max(latencies):.1f} s behind the poisoned batch"
    )
