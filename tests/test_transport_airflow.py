"""RoutingTransport inside real Airflow: a DAG whose SQL tasks read and write SQLite and PostgreSQL tables, run by a real
scheduler, dag-processor and api-server; the OpenLineage provider emits through the transport.

The catalog destination is a second api-server process on the same Airflow database, so it can be
stopped while Airflow itself (its execution API, the scheduler) keeps running.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from servers import AirflowServer, free_port
from sqlalchemy import create_engine, select
from test_transport import TRANSPORT, Receiver

from airflow_ol_catalog.store.tables import event

pytestmark = pytest.mark.integration

DAG_FILE = '''
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.sqlite.hooks.sqlite import SqliteHook
from airflow.sdk import DAG


class LineageSqliteHook(SqliteHook):
    """SQLite, described to the OpenLineage SQL parser (the sqlite provider does not)."""

    def get_openlineage_database_info(self, connection):
        from airflow.providers.openlineage.sqlparser import DatabaseInfo

        return DatabaseInfo(scheme="sqlite", authority="localhost", database=Path(connection.host).stem)

    def get_openlineage_database_dialect(self, connection):
        return "sqlite"

    def get_openlineage_default_schema(self):
        return "main"


class SqliteQueryOperator(SQLExecuteQueryOperator):
    def get_db_hook(self):
        return LineageSqliteHook(sqlite_conn_id=self.conn_id)


with DAG("lineage_demo", schedule=None, catchup=False):
    load = SqliteQueryOperator(
        task_id="load_orders",
        conn_id="demo_sqlite",
        sql="INSERT INTO orders SELECT day, amount FROM raw_orders",
    )
    total = SqliteQueryOperator(
        task_id="daily_totals",
        conn_id="demo_sqlite",
        sql="INSERT INTO daily_totals SELECT day, sum(amount) FROM orders GROUP BY day",
    )
    report = SQLExecuteQueryOperator(
        task_id="pg_report",
        conn_id="demo_pg",
        sql="INSERT INTO public.report SELECT day, sum(amount) FROM public.sales GROUP BY day",
    )
    load >> total >> report
'''


@pytest.fixture(scope="module")
def airflow_stack(tmp_path_factory, postgres):
    other = Receiver()
    postgres.create_database("warehouse")
    import psycopg2

    with (
        psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="warehouse") as pg,
        pg.cursor() as cur,
    ):
        cur.execute("CREATE TABLE sales (day date, amount numeric); CREATE TABLE report (day date, total numeric)")
    data = tmp_path_factory.mktemp("sqlite-data") / "shop.db"
    import sqlite3

    with sqlite3.connect(data) as db:
        db.executescript(
            "CREATE TABLE raw_orders (day TEXT, amount REAL); CREATE TABLE orders (day TEXT, amount REAL);"
            "CREATE TABLE daily_totals (day TEXT, total REAL); INSERT INTO raw_orders VALUES ('2026-01-01', 10), ('2026-01-01', 5);"
        )
    server = AirflowServer()
    catalog_port = free_port()
    catalog_url = f"http://127.0.0.1:{catalog_port}/"
    routing = {
        "type": TRANSPORT,
        "timeout": 2,
        "destinations": {
            "catalog": {"type": "catalog", "url": catalog_url, "conn_id": "ol_catalog_default"},
            "other": {
                "type": "http",
                "url": other.url,
                "rewrite": {"job_namespace": "rewritten", "event_types": ["COMPLETE"]},
            },
        },
        "routes": [{"match": {"job_name": "lineage_demo.daily_totals"}, "to": ["catalog", "other"]}],
        "default": ["catalog"],
        "spool": {"dir": str(server.home / "ol-spool")},
    }
    server.env.update(
        {
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{server.url}execution/",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(routing),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "e2e",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW_CONN_DEMO_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(data)}),
            "AIRFLOW_CONN_DEMO_PG": json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "127.0.0.1",
                    "port": postgres.port,
                    "login": "postgres",
                    "schema": "warehouse",
                }
            ),
        }
    )
    (server.home / "dags" / "lineage_demo.py").write_text(DAG_FILE)
    processes = []
    try:
        server.start()
        # kept in Airflow's database, as scripts/run.sh keeps it: tasks read it through the task SDK,
        # the spool commands through Airflow's own look-up
        token = server.create_token("airflow-openlineage")
        server.cli("connections", "add", "ol_catalog_default", "--conn-type", "http", "--conn-password", token)
        catalog = AirflowServer.__new__(AirflowServer)  # a second api-server on the same home and database
        catalog.__dict__.update(server.__dict__ | {"port": catalog_port, "url": catalog_url, "process": None})
        catalog.start_api_server()
        processes = [server.start_component("scheduler"), server.start_component("dag-processor")]
        admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
        deadline = time.monotonic() + 120
        while requests.get(server.url + "api/v2/dags/lineage_demo", headers=admin, timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the dag-processor did not parse the DAG in time"
            time.sleep(1)
        requests.patch(
            server.url + "api/v2/dags/lineage_demo", json={"is_paused": False}, headers=admin, timeout=30
        ).raise_for_status()
        yield server, catalog, other, admin
    finally:
        for process in processes:
            AirflowServer.stop_component(process)
        if "catalog" in locals():
            catalog.stop()
        server.cleanup()
        other.close()


def run_dag(server: AirflowServer, admin: dict) -> tuple[str, float]:
    """Trigger lineage_demo, wait for success; returns the run id and the longest task duration (s)."""
    created = requests.post(
        server.url + "api/v2/dags/lineage_demo/dagRuns", json={"logical_date": None}, headers=admin, timeout=30
    )
    created.raise_for_status()
    run_id = created.json()["dag_run_id"]
    deadline = time.monotonic() + 240
    while True:
        state = requests.get(
            server.url + f"api/v2/dags/lineage_demo/dagRuns/{run_id}", headers=admin, timeout=30
        ).json()["state"]
        if state in ("success", "failed"):
            break
        assert time.monotonic() < deadline, "the DAG run did not finish in time"
        time.sleep(1)
    tasks = requests.get(
        server.url + f"api/v2/dags/lineage_demo/dagRuns/{run_id}/taskInstances", headers=admin, timeout=30
    ).json()
    assert state == "success", tasks
    return run_id, max(ti["duration"] or 0 for ti in tasks["task_instances"])


def catalog_events(server: AirflowServer) -> list[dict]:
    engine = create_engine(server.sql_alchemy_conn)
    with engine.connect() as conn:
        payloads = conn.execute(select(event.c.payload)).scalars().all()
    engine.dispose()
    return [json.loads(p) for p in payloads]


def wait_for(check, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.5)


def test_airflow_events_reach_the_catalog_and_only_routed_ones_the_other_backend(airflow_stack):
    server, _catalog, other, admin = airflow_stack
    _run_id, _ = run_dag(server, admin)
    wait_for(
        lambda: (
            sum(e["job"]["name"] == "lineage_demo" and e.get("eventType") == "COMPLETE" for e in catalog_events(server))
            >= 1
        )
    )
    job = requests.get(
        server.url + "ol-catalog/api/v1/namespaces/e2e/jobs/lineage_demo.daily_totals",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    ).json()
    assert job["inputs"] == [{"namespace": "sqlite://localhost", "name": "shop.main.orders"}]
    assert job["outputs"] == [{"namespace": "sqlite://localhost", "name": "shop.main.daily_totals"}]
    assert job["parentJob"] == {"namespace": "e2e", "name": "lineage_demo"}
    pg = requests.get(
        server.url + "ol-catalog/api/v1/namespaces/e2e/jobs/lineage_demo.pg_report",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    ).json()
    port = json.loads(server.env["AIRFLOW_CONN_DEMO_PG"])["port"]
    assert pg["inputs"] == [{"namespace": f"postgres://127.0.0.1:{port}", "name": "warehouse.public.sales"}]
    assert pg["outputs"] == [{"namespace": f"postgres://127.0.0.1:{port}", "name": "warehouse.public.report"}]
    assert [(e["eventType"], e["job"]["namespace"], e["job"]["name"]) for e in other.events] == [
        ("COMPLETE", "rewritten", "lineage_demo.daily_totals")
    ]
    assert other.events[0]["run"]["facets"]["parent"]["job"]["namespace"] == "rewritten"


def test_with_the_catalog_down_tasks_finish_on_time_and_flush_delivers_each_event_once(airflow_stack):
    server, catalog, _other, admin = airflow_stack
    _, normal = run_dag(server, admin)
    catalog.stop()
    run_id, slowest = run_dag(server, admin)
    assert slowest < normal + 10, (slowest, normal)  # the 2 s bound, not the client's retries
    wait_for(lambda: "catalog" in server.cli("ol-catalog", "spool", "status").stdout)
    status = server.cli("ol-catalog", "spool", "status").stdout
    waiting = int(next(line for line in status.splitlines() if line.strip().startswith("catalog")).split()[1])
    assert waiting >= 4  # the two tasks' START and COMPLETE at least
    catalog.start_api_server()
    flushed = server.cli("ol-catalog", "spool", "flush")
    assert "catalog: " in flushed.stdout and "0 waiting" in flushed.stdout
    server.cli("ol-catalog", "spool", "flush")  # a second flush has nothing to send
    events = [
        e
        for e in catalog_events(server)
        if e.get("run", {}).get("facets", {}).get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
        or e.get("run", {}).get("facets", {}).get("airflowDagRun", {}).get("dagRun", {}).get("run_id") == run_id
    ]
    keys = [(e["job"]["name"], e["eventType"]) for e in events]
    assert len(keys) == len(set(keys)) and ("lineage_demo.daily_totals", "COMPLETE") in keys
    assert all(e["job"]["namespace"] == "e2e" for e in events)


def test_the_task_instance_tab_shows_the_runs_openlineage_events(airflow_stack):
    """Airflow's task-instance page, OpenLineage tab: the run's events, inputs and outputs (real DAG run)."""
    from playwright.sync_api import expect, sync_playwright
    from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS

    server, catalog, _, admin = airflow_stack
    if catalog.process is None:
        catalog.start_api_server()
    run_id, _ = run_dag(server, admin)
    wait_for(
        lambda: any(
            e["job"]["name"] == "lineage_demo.daily_totals"
            and e.get("eventType") == "COMPLETE"
            and e["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
            for e in catalog_events(server)
        )
    )
    own = [
        e
        for e in catalog_events(server)
        if e["job"]["name"] == "lineage_demo.daily_totals"
        and e["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
    ]
    # Another producer, with a token limited to its own namespace, reuses the task's run id (a run
    # id is unique per job only): the tab keeps to the task's own job.
    intruder = server.create_token("intruder-" + uuid.uuid4().hex[:6], "--namespace", "intruders")
    injected = {
        "eventType": "FAIL",
        "eventTime": own[-1]["eventTime"],
        "producer": "https://example.com/intruder",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": own[0]["run"]["runId"]},
        "job": {"namespace": "intruders", "name": "stand_in"},
        "outputs": [{"namespace": "file", "name": "/data/INJECTED.csv"}],
    }
    assert server.send(injected, token=intruder).status_code == 201
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_cookies([{"name": "_token", "value": server.jwt("admin"), "url": server.url}])
        page = context.new_page()
        page.goto(server.url + f"dags/lineage_demo/runs/{requests.utils.quote(run_id, safe='')}/tasks/daily_totals")
        page.get_by_role("link", name="OpenLineage", exact=True).click()
        tab = page.frame_locator("iframe")
        expect(tab.get_by_role("link", name="shop.main.orders")).to_be_visible()
        expect(tab.get_by_role("link", name="shop.main.daily_totals")).to_be_visible()
        expect(tab.get_by_test_id("event").first).to_be_visible()
        expect(tab.get_by_test_id("event")).to_have_count(len(own))
        expect(tab.get_by_text("INJECTED")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "16-task-instance-openlineage-tab.png"))
        browser.close()
