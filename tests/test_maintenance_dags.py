"""The maintenance DAGs, run for real (`airflow dags test`) against a real PostgreSQL source and a SQLite file.

Connections name the sources in other spellings than the events' dataset namespaces; one table
is dropped and one column changed after the lineage was sent.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import uuid

import psycopg2
import pytest
import requests
from http_client import LINEAGE
from servers import AIRFLOW, AirflowServer
from test_projection import event
from test_ui_browser import SHOTS, browser  # noqa: F401  (browser is a fixture)

from airflow_ol_catalog.maintenance.bundle import DAGS_FOLDER

pytestmark = pytest.mark.integration


def dataset(namespace: str, name: str, fields: list[tuple[str, str]]) -> dict:
    return {
        "namespace": namespace,
        "name": name,
        "facets": {"schema": {"fields": [{"name": n, "type": t} for n, t in fields]}},
    }


@pytest.fixture(scope="module")
def stack(postgres, tmp_path_factory):
    data = tmp_path_factory.mktemp("sources")
    postgres.create_database("shop")
    with (
        psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="shop") as db,
        db.cursor() as cur,
    ):
        cur.execute("CREATE TABLE orders (id integer, amount numeric(12,2), created date)")
        cur.execute("CREATE TABLE gone (id integer)")
        cur.execute("CREATE VIEW big_orders AS SELECT amount, created FROM orders WHERE amount > 100")
        cur.execute("CREATE TABLE happenings (at timestamptz)")
        cur.execute("COMMENT ON TABLE happenings IS 'what happened, when'")
    sqlite_file = data / "warehouse.db"
    with sqlite3.connect(sqlite_file) as db:
        db.execute("CREATE TABLE totals (day text, total real)")
        db.execute('CREATE TABLE "a.b" (x integer)')  # a dot in a table's name
        db.execute("CREATE TABLE dropped (x integer)")
        db.execute("CREATE VIEW broken AS SELECT x FROM dropped")
        db.execute("DROP TABLE dropped")  # the view cannot be read now
    (data / "other.db").touch()  # another SQLite file: its datasets are not warehouse.db's
    server = AirflowServer()
    for dag in DAGS_FOLDER.glob("ol_catalog_*.py"):
        shutil.copy(dag, server.home / "dags" / dag.name)
    try:
        server.start()
        admin_token = server.create_token("maintenance", "--admin")
        server.env["AIRFLOW_CONN_OL_CATALOG_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": server.url, "password": admin_token}
        )
        # The sources as Airflow knows them: upper-case host, no port for the default... and a SQLite file.
        # One `airflow connections import` (an Airflow process costs seconds) instead of an add each.
        connections = {
            "pg_shop": {
                "conn_type": "postgres",
                "host": "LOCALHOST",
                "port": postgres.port,
                "schema": "shop",
                "login": "postgres",
            },
            "sqlite_wh": {"conn_type": "sqlite", "host": str(sqlite_file)},
            "pg_other": {"conn_type": "postgres", "host": "pg.example", "schema": "x"},
        }
        (server.home / "connections.json").write_text(json.dumps(connections))
        server.cli("connections", "import", str(server.home / "connections.json"))
        events = [
            event(
                "COMPLETE",
                "2026-01-01T10:00:00Z",
                run_id=str(uuid.uuid4()),
                inputs=[
                    dataset(
                        f"postgresql://localhost:{postgres.port}/",
                        "shop.public.orders",
                        [("id", "int4"), ("amount", "numeric"), ("note", "text")],
                    ),
                    dataset(f"postgres://localhost:{postgres.port}", "shop.public.gone", [("id", "integer")]),
                ],
                outputs=[dataset("sqlite://localhost", "warehouse.main.totals", [("day", "text"), ("total", "real")])],
            ),
            event(
                "COMPLETE",
                "2026-01-01T11:00:00Z",
                run_id=str(uuid.uuid4()),
                inputs=[
                    dataset("mysql://mysql.example:3306", "app.public.users", []),
                    dataset("postgres://10.9.8.7:5432", "x.public.t", []),
                ],
            ),
        ]
        for payload in events:
            assert (
                requests.post(
                    server.url + LINEAGE, json=payload, headers={"Authorization": f"Bearer {server.token}"}, timeout=10
                ).status_code
                == 201
            )
        with (
            psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="shop") as db,
            db.cursor() as cur,
        ):
            cur.execute("DROP TABLE gone")
            cur.execute("ALTER TABLE orders ALTER COLUMN id TYPE bigint")  # the lineage says int4
        yield server, postgres
    finally:
        server.cleanup()


def dags_test(server: AirflowServer, dag_id: str, conf: dict | None = None, fails: bool = False, **env: str) -> str:
    """Run the DAG in-process (`airflow dags test`) with task logs shown (and `env` added); its
    output. It must succeed, or fail when `fails`."""
    result = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])],
        env={**server.env, "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO", **env},
        cwd=server.home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    failed = result.returncode != 0 or "state=failed" in output
    assert failed == fails, output[-4000:]
    return output


def read(server: AirflowServer, path: str, as_user: str | None = None, **params) -> dict:
    """A read with the read token, or as an Airflow user (only users allowed to read Connections see them)."""
    credential = server.jwt(as_user) if as_user else server.token
    response = requests.get(
        server.url + "ol-catalog/api/v1/" + path,
        params=params,
        headers={"Authorization": f"Bearer {credential}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def source_of(server, namespace, name):
    return read(server, f"namespaces/{requests.utils.quote(namespace, safe='')}/datasets/{name}", as_user="admin")[
        "dataSource"
    ]


def test_reconcile_dry_run_stores_nothing_then_matches_and_checks_tables(stack):
    server, postgres = stack
    log = dags_test(server, "ol_catalog_reconcile", {"dry_run": True})
    assert "(dry run: nothing stored)" in log
    assert source_of(server, f"postgres://localhost:{postgres.port}", "shop.public.orders") is None

    log = dags_test(server, "ol_catalog_reconcile")
    assert "datasets: 3 matched, 2 unmatched, 0 ambiguous" in log
    orders = source_of(server, f"postgres://localhost:{postgres.port}", "shop.public.orders")
    assert orders["status"] == "matched" and orders["connId"] == "pg_shop"
    assert orders["check"]["status"] == "drifted"
    assert orders["check"]["evidence"] == {
        "missing": ["note"],
        "extra": ["created"],
        "changed": [{"column": "id", "lineage": "int4", "table": "bigint"}],
    }
    assert (
        source_of(server, f"postgres://localhost:{postgres.port}", "shop.public.gone")["check"]["status"] == "missing"
    )
    totals = source_of(server, "sqlite://localhost", "warehouse.main.totals")
    assert (totals["connId"], totals["check"]["status"]) == ("sqlite_wh", "ok")
    unmatched = source_of(server, "postgres://10.9.8.7:5432", "x.public.t")
    assert unmatched["status"] == "unmatched" and unmatched["candidates"] == ["pg_other", "pg_shop"]
    summary = read(server, "data-sources", as_user="admin")
    by_conn = {s["connId"]: s for s in summary["dataSources"]}
    assert (by_conn["pg_shop"]["datasets"], by_conn["pg_shop"]["missing"], by_conn["pg_shop"]["drifted"]) == (2, 1, 1)
    assert {u["namespace"] for u in summary["unmatched"]} == {"mysql://mysql.example:3306", "postgres://10.9.8.7:5432"}


def test_extract_metadata_records_tables_and_views_with_columns(stack):
    server, postgres = stack
    # a Connection whose database cannot be opened, first: the others are crawled, then the task fails
    missing = json.dumps({"conn_type": "sqlite", "host": "/nonexistent/dir/x.db"})
    conf = {"conn_ids": ["sqlite_missing", "pg_shop", "sqlite_wh"], "exclude": ["*.gone"]}
    log = dags_test(server, "ol_catalog_extract_metadata", conf, fails=True, AIRFLOW_CONN_SQLITE_MISSING=missing)
    assert "sqlite_missing failed, going on with the other Connections" in log
    assert "1 of 3 Connections could not be crawled: sqlite_missing" in log
    # a view over a dropped table fails alone: the task fails, its schema's tables are sent
    assert "1 tables or views were not cataloged: sqlite_wh:main.broken" in log
    assert read(server, "namespaces/sqlite%3A%2F%2Flocalhost/datasets/warehouse.main.a.b")["fields"][0]["name"] == "x"
    namespace = f"postgres://LOCALHOST:{postgres.port}"
    found = read(server, f"namespaces/{requests.utils.quote(namespace, safe='')}/datasets/shop.public.big_orders")
    assert [f["name"] for f in found["fields"]] == ["amount", "created"]
    assert found["facets"]["olCatalogTable"]["kind"] == "VIEW"
    assert [
        f["name"] for f in read(server, "namespaces/sqlite%3A%2F%2Flocalhost/datasets/warehouse.main.totals")["fields"]
    ] == ["day", "total"]
    # the crawled schema is the newest: the orders dataset now agrees with its table
    orders = read(server, f"namespaces/{requests.utils.quote(namespace, safe='')}/datasets/shop.public.orders")
    assert [f["name"] for f in orders["fields"]] == ["id", "amount", "created"]
    # a time zone-aware column keeps its zone, and the table's comment is the dataset's description
    happenings = read(server, f"namespaces/{requests.utils.quote(namespace, safe='')}/datasets/shop.public.happenings")
    assert [(f["name"], f["type"]) for f in happenings["fields"]] == [("at", "timestamp with time zone")]
    assert happenings["description"] == "what happened, when"

    # a hidden dataset among those sent is no sign that the catalog kept the namespace out
    dataset_path = (
        f"ol-catalog/api/v1/namespaces/{requests.utils.quote(namespace, safe='')}/datasets/shop.public.orders"
    )
    admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
    assert requests.delete(server.url + dataset_path, headers=admin, timeout=10).status_code == 200
    try:
        log = dags_test(server, "ol_catalog_extract_metadata", {"conn_ids": ["pg_shop"], "exclude": ["*.gone"]})
        assert "keeps namespace" not in log and "tables and views sent" in log
    finally:
        assert requests.post(server.url + dataset_path + "/restore", headers=admin, timeout=10).status_code == 200

    # the tables extracted are checked through their own Connection: `a.b` found, not looked for as
    # table b of schema a; a dataset of another SQLite file is not warehouse.db's, nor checked in it
    extra = {"namespace": "sqlite://localhost", "name": "other.main.t", "facets": {}}
    assert (
        requests.post(
            server.url + LINEAGE,
            json=event("COMPLETE", "2026-01-02T10:00:00Z", run_id=str(uuid.uuid4()), outputs=[extra]),
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=10,
        ).status_code
        == 201
    )
    dags_test(server, "ol_catalog_reconcile")
    assert source_of(server, "sqlite://localhost", "warehouse.main.a.b")["check"]["status"] == "ok"
    other = source_of(server, "sqlite://localhost", "other.main.t")
    assert other["status"] == "unmatched" and other["check"] is None, other
    assert source_of(server, namespace.lower(), "shop.public.happenings")["check"]["status"] == "ok"


def test_retention_keeps_the_newest_runs_and_every_edge(stack):
    server, _ = stack
    old = [
        event(
            "COMPLETE",
            f"2020-01-0{day}T10:00:00Z",
            run_id=f"old-{day}",
            inputs=[{"namespace": "s3://b", "name": "keep-edge"}],
        )
        for day in (1, 2, 3)
    ]
    for payload in old:
        payload["job"]["name"] = "yearly.job"
        assert (
            requests.post(
                server.url + LINEAGE, json=payload, headers={"Authorization": f"Bearer {server.token}"}, timeout=10
            ).status_code
            == 201
        )
    log = dags_test(server, "ol_catalog_retention", {"days": 365, "keep_runs_per_job": 1, "dry_run": True})
    assert "would delete 2 runs" in log
    dags_test(server, "ol_catalog_retention", {"days": 365, "keep_runs_per_job": 1})
    runs = read(server, "namespaces/team-a/jobs/yearly.job/runs")["runs"]
    assert [r["id"] for r in runs] == ["old-3"]
    job = read(server, "namespaces/team-a/jobs/yearly.job")
    assert job["inputs"] == [{"namespace": "s3://b", "name": "keep-edge"}]
    events = read(server, "events/lineage", namespace="team-a", limit=1000)["events"]
    assert {e["run"]["runId"] for e in events if e["job"]["name"] == "yearly.job"} == {"old-3"}


def test_replay_moves_quarantined_events_once_their_namespace_is_back(stack):
    server, _ = stack
    admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
    name = "late-" + uuid.uuid4().hex[:6]
    first = event("START", "2026-01-02T10:00:00Z", run_id=str(uuid.uuid4()))
    first["job"]["namespace"] = name
    assert (
        requests.post(
            server.url + LINEAGE, json=first, headers={"Authorization": f"Bearer {server.token}"}, timeout=10
        ).status_code
        == 201
    )
    assert (
        requests.delete(server.url + f"ol-catalog/api/v1/namespaces/{name}", headers=admin, timeout=10).status_code
        == 200
    )
    later = event("COMPLETE", "2026-01-02T10:05:00Z", run_id=first["run"]["runId"])
    later["job"]["namespace"] = name
    assert (
        requests.post(
            server.url + LINEAGE, json=later, headers={"Authorization": f"Bearer {server.token}"}, timeout=10
        ).json()["quarantined"]
        is True
    )
    assert (
        requests.post(
            server.url + f"ol-catalog/api/v1/namespaces/{name}/restore", headers=admin, timeout=10
        ).status_code
        == 200
    )
    log = dags_test(server, "ol_catalog_replay")
    assert "replayed 1 quarantined events" in log
    assert "writes to marked datasets: 0 made 0 asset events" in log  # nothing marked, nothing waiting
    assert read(server, f"namespaces/{name}/jobs/etl.load/runs")["runs"][0]["state"] == "COMPLETED"


def test_the_ui_shows_data_sources_and_each_datasets_table_check(stack, browser):  # noqa: F811
    from playwright.sync_api import expect

    server, postgres = stack
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "_token", "value": server.jwt("admin"), "url": server.url}])
    page = context.new_page()
    try:
        page.goto(server.url + "ol-catalog/ui/#/sources")
        expect(page.get_by_role("cell", name="pg_shop", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="mysql://mysql.example:3306")).to_be_visible()
        page.screenshot(path=str(SHOTS / "14-data-sources.png"))
        namespace = requests.utils.quote(f"postgres://localhost:{postgres.port}", safe="")
        page.goto(server.url + f"ol-catalog/ui/#/dataset?ns={namespace}&name=shop.public.gone")
        expect(page.get_by_test_id("data-source")).to_contain_text("in pg_shop")
        expect(page.get_by_test_id("data-source")).to_contain_text("table missing")
        page.screenshot(path=str(SHOTS / "15-dataset-table-missing.png"))
    finally:
        context.close()


def test_a_viewer_sees_data_sources_and_table_checks_without_connection_names(stack, browser):  # noqa: F811
    from playwright.sync_api import expect

    server, postgres = stack
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "_token", "value": server.jwt("viewer"), "url": server.url}])
    page = context.new_page()
    try:
        page.goto(server.url + "ol-catalog/ui/#/sources")
        expect(page.get_by_test_id("connections-withheld")).to_contain_text(
            "Airflow user 'viewer' may not read Connections"
        )
        expect(page.get_by_role("cell", name="hidden").first).to_be_visible()
        expect(page.get_by_role("link", name="mysql://mysql.example:3306")).to_be_visible()
        for name in ("pg_shop", "sqlite_wh", "pg_other", "pg.example"):
            expect(page.get_by_text(name)).to_have_count(0)
        page.screenshot(path=str(SHOTS / "18-data-sources-as-viewer.png"))
        namespace = requests.utils.quote(f"postgres://localhost:{postgres.port}", safe="")
        page.goto(server.url + f"ol-catalog/ui/#/dataset?ns={namespace}&name=shop.public.gone")
        expect(page.get_by_test_id("data-source")).to_contain_text("in an Airflow Connection")
        expect(page.get_by_test_id("data-source")).to_contain_text("table missing")
        page.screenshot(path=str(SHOTS / "19-dataset-source-as-viewer.png"))
    finally:
        context.close()
