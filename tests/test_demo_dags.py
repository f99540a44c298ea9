"""The demo DAGs (examples/dags) set up as scripts/run.sh sets them up: Airflow's OpenLineage provider
sends their events through the routing transport to the catalog, run by a real scheduler,
dag-processor and api-server, triggered by the script run.sh runs. What the catalog then holds is
what the provider itself extracted: tables, columns, column lineage, check results, Assets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from http_client import openlineage_client
from servers import AirflowServer
from test_transport import TRANSPORT

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
NS = "airflow-demo"
SQLITE = "sqlite://localhost"
MAINTENANCE_BUNDLE = "airflow_ol_catalog.maintenance.bundle.MaintenanceDagBundle"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def table(name: str) -> dict:
    return {"namespace": SQLITE, "name": f"shop.main.{name}"}


@pytest.fixture(scope="module")
def demo():
    """Airflow configured as run.sh configures it, the demo DAGs run once by run.sh's own script."""
    server = AirflowServer(
        extra_env={
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "examples" / "dags"),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {"name": "ol-catalog-maintenance", "classpath": MAINTENANCE_BUNDLE, "kwargs": {}},
                    {"name": "demo", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(ROOT / "examples" / "dags")}},
                ]
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": NS,
        }
    )
    server.env.update(
        {
            "AIRFLOW__API__BASE_URL": server.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{server.url}execution/",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {
                    "type": TRANSPORT,
                    "destinations": {"catalog": {"type": "catalog", "conn_id": "ol_catalog_default"}},
                    "spool": {"dir": str(server.home / "ol-spool")},
                }
            ),
            "AIRFLOW_CONN_DEMO_SHOP": json.dumps(
                {"conn_type": "sqlite", "host": str(server.home / "demo" / "shop.db")}
            ),
        }
    )
    (server.home / "demo").mkdir()
    processes = []
    try:
        server.start()
        server.env["AIRFLOW_CONN_OL_CATALOG_DEFAULT"] = json.dumps(
            {"conn_type": "http", "password": server.create_token("maintenance", "--admin")}
        )
        processes = [server.start_component("scheduler"), server.start_component("dag-processor")]
        password = json.loads((server.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        ran = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run_demo_dags.py"), server.url, "admin", password],
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        yield server, ran.stdout
    finally:
        for process in processes:
            AirflowServer.stop_component(process)
        server.cleanup()


def read(server: AirflowServer, path: str, **params) -> dict:
    answer = requests.get(
        server.url + "ol-catalog/api/v1/" + path,
        params=params,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()


def eventually(check, seconds: float = 60):
    """What `check` returns once it is truthy: a task's COMPLETE event is sent after the task ends."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def job(server: AirflowServer, name: str, finished: bool = True) -> dict:
    """The job `name` of the demo namespace, once its latest run has ended (when `finished`)."""

    def ended() -> dict | None:
        answer = requests.get(
            server.url + f"ol-catalog/api/v1/namespaces/{NS}/jobs/{name}",
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        )
        if answer.status_code != 200:
            return None
        found = answer.json()
        run = found["latestRun"]
        return found if not finished or (run and run["state"] in ("COMPLETED", "FAILED")) else None

    found = eventually(ended)
    assert found, f"no ended run of {name} in the catalog"
    return found


def test_the_sql_tasks_lineage_is_what_the_openlineage_provider_extracted(demo):
    server, printed = demo
    assert "demo_shop_etl: failed" in printed and "demo_shop_report: success" in printed
    load = job(server, "demo_shop_etl.load_orders")
    assert load["latestRun"]["state"] == "COMPLETED"
    assert load["inputs"] == [table("fx_rates"), table("raw_orders")]
    assert load["outputs"] == [table("orders")]
    assert load["parentJob"] == {"namespace": NS, "name": "demo_shop_etl"}
    assert "INSERT INTO orders" in load["facets"]["sql"]["query"]
    revenue = job(server, "demo_shop_etl.daily_revenue")
    assert revenue["inputs"] == [table("customers"), table("orders")] and revenue["outputs"] == [table("daily_revenue")]
    orders = read(server, f"namespaces/{quote(SQLITE, safe='')}/datasets/shop.main.orders")
    assert {f["name"] for f in orders["fields"]} >= {"id", "customer_id", "amount_eur", "day"}
    # column lineage, as the provider's SQL parser found it
    amount = next(c for c in orders["columnLineage"] if c["name"] == "amount_eur")
    assert {(f["dataset"], f["field"]) for f in amount["inputFields"]} >= {
        ("shop.main.raw_orders", "amount"),
        ("shop.main.fx_rates", "to_eur"),
    }
    revenue_columns = read(server, f"namespaces/{quote(SQLITE, safe='')}/datasets/shop.main.daily_revenue")
    country = next(c for c in revenue_columns["columnLineage"] if c["name"] == "country")
    assert [(f["dataset"], f["field"]) for f in country["inputFields"]] == [("shop.main.customers", "country")]


def test_the_failing_check_shows_its_failed_assertion_and_error(demo):
    server, _ = demo
    check = job(server, "demo_shop_etl.check_orders")
    assert check["latestRun"]["state"] == "FAILED"
    assert "null_check" in check["latestRun"]["error"]["message"]
    quality = read(server, f"namespaces/{quote(SQLITE, safe='')}/datasets/shop.main.orders")["quality"]
    failed = {(a["column"], a["assertion"]) for a in quality["assertions"] if not a["success"]}
    assert failed == {("customer_id", "not_null")}
    assert quality["checkedBy"]["job"] == {"namespace": NS, "name": "demo_shop_etl.check_orders"}
    dag = job(server, "demo_shop_etl")
    assert dag["latestRun"]["state"] == "FAILED"


def test_the_asset_scheduled_dag_reads_the_export_and_names_the_run_that_wrote_it(demo):
    server, _ = demo
    export = job(server, "demo_shop_etl.export_revenue")
    csv_file = {"namespace": "file", "name": str(server.home / "demo" / "exports" / "daily_revenue.csv")}
    assert export["outputs"] == [csv_file]
    # the SQL the task ran through its hook: a child job of the task, reading the table
    query = job(server, "demo_shop_etl.export_revenue.query.1")
    assert query["inputs"] == [table("daily_revenue")] and query["parentJob"]["name"] == "demo_shop_etl.export_revenue"
    report = job(server, "demo_shop_report.country_report")
    assert report["inputs"] == [csv_file]
    dag_run = job(server, "demo_shop_report")["latestRun"]
    upstream = dag_run["facets"]["jobDependencies"]["upstream"]
    assert [(u["job"]["name"], u["run"]["runId"]) for u in upstream] == [
        ("demo_shop_etl.export_revenue", export["latestRun"]["id"])
    ]


def test_the_export_asset_is_linked_to_the_dataset_its_task_wrote(demo):
    server, _ = demo
    csv_file = {"namespace": "file", "name": str(server.home / "demo" / "exports" / "daily_revenue.csv")}
    assets = {a["name"]: a for a in read(server, "airflow/assets")["assets"]}
    export = assets["daily_revenue_export"]
    assert export["openLineage"] == csv_file and export["dataset"] == csv_file
    assert export["producers"] == [{"dagId": "demo_shop_etl", "taskId": "export_revenue"}]
    assert export["consumers"] == ["demo_shop_report"]
    (linked,) = read(server, f"namespaces/file/datasets/{quote(csv_file['name'], safe='')}/airflow-assets")["assets"]
    newest = linked["latestEvents"][0]
    assert (newest["sourceDagId"], newest["sourceTaskId"]) == ("demo_shop_etl", "export_revenue")
    # the SQLite tables have no Asset, and Airflow converts no sqlite:// URI: they are not listed as missing one
    without = read(server, "airflow/datasets-without-asset")
    assert all(d["namespace"] != SQLITE for d in without["datasets"])


def test_the_maintenance_dags_are_parsed_from_their_own_bundle(demo):
    server, _ = demo
    admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
    dags = requests.get(server.url + "api/v2/dags", params={"limit": 100}, headers=admin, timeout=30).json()["dags"]
    bundles = {d["dag_id"]: d["bundle_name"] for d in dags}
    assert bundles == {
        "demo_shop_etl": "demo",
        "demo_shop_report": "demo",
        "ol_catalog_extract_metadata": "ol-catalog-maintenance",
        "ol_catalog_reconcile": "ol-catalog-maintenance",
        "ol_catalog_replay": "ol-catalog-maintenance",
        "ol_catalog_retention": "ol-catalog-maintenance",
    }


def test_the_dag_and_task_instance_tabs_show_the_demo_lineage(demo):
    from playwright.sync_api import expect, sync_playwright
    from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, doc_shot

    server, _ = demo
    load = job(server, "demo_shop_etl.load_orders")
    dag_run_id = load["latestRun"]["airflow"]["dagRunId"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_cookies([{"name": "_token", "value": server.jwt("admin"), "url": server.url}])
        page = context.new_page()
        page.goto(server.url + "dags/demo_shop_etl")
        page.get_by_role("link", name="Lineage", exact=True).click()
        tab = page.frame_locator("iframe")
        for node in (
            f"job:{NS}:demo_shop_etl.load_orders",
            f"job:{NS}:demo_shop_etl.check_orders",
            f"dataset:{SQLITE}:shop.main.orders",
        ):
            expect(tab.locator(f'[data-node-id="{node}"]')).to_be_visible()
        page.screenshot(path=str(SHOTS / "40-demo-dag-lineage-tab.png"))
        # Readable, it starts at the DAG's beginning; the rest is a drag away.
        revenue = tab.locator(f'[data-node-id="dataset:{SQLITE}:shop.main.daily_revenue"]')
        expect(revenue).to_have_count(0)
        pane = tab.locator(".react-flow__pane").bounding_box()
        page.mouse.move(pane["x"] + pane["width"] - 150, pane["y"] + 60)
        page.mouse.down()
        page.mouse.move(pane["x"] + 150, pane["y"] + 60, steps=10)
        page.mouse.up()
        expect(revenue).to_be_visible()
        page.goto(server.url + f"dags/demo_shop_etl/runs/{requests.utils.quote(dag_run_id, safe='')}/tasks/load_orders")
        page.get_by_role("link", name="OpenLineage", exact=True).click()
        tab = page.frame_locator("iframe")
        for name in ("shop.main.raw_orders", "shop.main.fx_rates", "shop.main.orders"):
            expect(tab.get_by_role("link", name=name)).to_be_visible()
        expect(tab.locator('[data-kind="card"]')).to_have_count(3)  # its column lineage: the three tables
        # Airflow's SQL parser names each column's inputs, not how: the value comes from them, way unsaid.
        amount = tab.locator(f'[data-row-id="datasetField:{SQLITE}:shop.main.orders:amount_eur"]')
        expect(amount.locator(".olc-row-tag")).to_have_text("derived")
        assert "Comes from shop.main.fx_rates.to_eur, shop.main.raw_orders.amount" in amount.locator(
            "button"
        ).get_attribute("title")
        expect(tab.locator('g[data-kind="INDIRECT"]')).to_have_count(0)
        page.screenshot(path=str(SHOTS / "41-demo-task-instance-tab.png"))
        doc_shot(page, "task-instance-openlineage-tab", clip={"x": 0, "y": 0, "width": 1400, "height": 760})
        # Airflow's own facets: the task's page in Airflow from its job, its log from its run
        page.goto(server.url + f"ol-catalog/ui/#/job?ns={NS}&name=demo_shop_etl.load_orders")
        expect(page.get_by_test_id("airflow-task-link")).to_have_attribute(
            "href", f"{server.url}dags/demo_shop_etl/tasks/load_orders"
        )
        expect(page.get_by_test_id("airflow-origin")).to_contain_text("ShopQuery")
        page.goto(server.url + f"ol-catalog/ui/#/run?id={load['latestRun']['id']}")
        log = page.get_by_test_id("airflow-log-link")
        expect(log).to_have_attribute("href", load["latestRun"]["airflow"]["logUrl"])
        assert (
            "/tasks/load_orders" in load["latestRun"]["airflow"]["logUrl"]
            and "try_number=1" in load["latestRun"]["airflow"]["logUrl"]
        )
        expect(page.get_by_test_id("run-origin")).to_contain_text("manual DAG run")
        page.screenshot(path=str(SHOTS / "44-demo-run-airflow-origin.png"))
        # the DAG run's Lineage tab: its task runs on one timeline, and the DAG run its export triggered
        page.goto(server.url + f"dags/demo_shop_etl/runs/{requests.utils.quote(dag_run_id, safe='')}")
        page.get_by_role("link", name="Lineage", exact=True).click()
        tab = page.frame_locator("iframe")
        expect(tab.get_by_test_id("trace-run")).to_have_count(7)  # the DAG run, 5 tasks, the export's query
        expect(tab.get_by_test_id("trace-runs").get_by_role("link", name="demo_shop_etl.check_orders")).to_be_visible()
        expect(tab.get_by_test_id("trace-downstream")).to_contain_text("demo_shop_report")
        page.screenshot(path=str(SHOTS / "45-demo-dag-run-lineage-tab.png"))
        # the explorer, opened at a table the demo wrote: its writer upstream, its readers downstream
        page.goto(server.url + "ol-catalog/ui/#/graph?node=" + quote(f"dataset:{SQLITE}:shop.main.orders", safe=""))
        for node in (
            f"job:{NS}:demo_shop_etl.load_orders",
            f"job:{NS}:demo_shop_etl.daily_revenue",
            f"dataset:{SQLITE}:shop.main.raw_orders",
        ):
            expect(page.locator(f'[data-node-id="{node}"]')).to_be_visible()
        page.screenshot(path=str(SHOTS / "49-demo-explorer.png"))
        export = str(server.home / "demo" / "exports" / "daily_revenue.csv")
        asset_id = next(
            a["id"] for a in read(server, "airflow/assets")["assets"] if a["name"] == "daily_revenue_export"
        )
        page.goto(server.url + f"ol-catalog/ui/#/dataset?ns=file&name={quote(export, safe='')}")
        section = page.get_by_test_id("airflow-asset")
        expect(section.get_by_test_id("airflow-asset-link")).to_have_attribute("href", f"{server.url}assets/{asset_id}")
        expect(section.get_by_test_id("airflow-asset-consumer")).to_have_text("demo_shop_report")
        expect(section.get_by_role("link", name="demo_shop_etl \u203a export_revenue").first).to_be_visible()
        page.screenshot(path=str(SHOTS / "42-demo-dataset-airflow-asset.png"), full_page=True)
        page.goto(server.url + f"ol-catalog/ui/#/asset/{asset_id}")  # the tab an `asset` destination would show
        expect(page.get_by_test_id("title")).to_have_text(export)
        browser.close()


def test_a_write_by_an_outside_producer_triggers_the_asset_scheduled_dag(demo):
    """Marked as a user would from the dataset page, the export's writes trigger Airflow: a script
    outside Airflow sends, with openlineage-python, that it rewrote the export, and the scheduler
    runs demo_shop_report, whose own OpenLineage events then name that script's run as upstream."""
    import uuid

    from openlineage.client.event_v2 import Job, OutputDataset, Run, RunEvent, RunState

    server, _ = demo
    export = str(server.home / "demo" / "exports" / "daily_revenue.csv")
    user = {"Authorization": f"Bearer {server.jwt('admin')}"}
    marked = requests.post(
        server.url + "ol-catalog/api/v1/airflow/asset-triggers",
        json={"namespace": "file", "name": export},
        headers=user,
        timeout=30,
    )
    assert marked.status_code == 201, marked.text
    runs_before = requests.get(server.url + "api/v2/dags/demo_shop_report/dagRuns", headers=user, timeout=30).json()[
        "total_entries"
    ]
    writer = server.create_token("revenue-script")
    ol = openlineage_client(server.url, writer)
    run_id = str(uuid.uuid4())
    for state in (RunState.START, RunState.COMPLETE):
        ol.emit(
            RunEvent(
                eventType=state,
                eventTime=datetime.now(timezone.utc).isoformat(),
                run=Run(runId=run_id),
                job=Job(namespace="finance-scripts", name="rebuild_revenue_export"),
                producer="https://example.com/finance-scripts",
                outputs=[OutputDataset(namespace="file", name=export)],
            )
        )
    triggered = eventually(
        lambda: (
            requests.get(
                server.url + "api/v2/dags/demo_shop_report/dagRuns?order_by=-run_after", headers=user, timeout=30
            ).json()
            if requests.get(server.url + "api/v2/dags/demo_shop_report/dagRuns", headers=user, timeout=30).json()[
                "total_entries"
            ]
            > runs_before
            else None
        ),
        seconds=120,
    )
    assert triggered, "the scheduler started no demo_shop_report run"
    dag_run = triggered["dag_runs"][0]
    assert dag_run["triggered_by"] == "asset" or dag_run["run_type"] == "asset_triggered", dag_run
    # the write is shown on the export's page with the asset event it made
    writes = read(server, f"namespaces/file/datasets/{quote(export, safe='')}/airflow-assets")
    (write,) = [w for w in writes["catalogWrites"] if w["runId"] == run_id]
    assert write["state"] == "created" and write["job"]["name"] == "rebuild_revenue_export"

    # the triggered DAG run's own OpenLineage events name the script's run as what it waited for
    def upstream_of_the_triggered_run():
        report = job(server, "demo_shop_report")
        if report["latestRun"]["airflow"]["dagRunId"] != dag_run["dag_run_id"]:
            return None
        return report["latestRun"]["facets"].get("jobDependencies", {}).get("upstream")

    upstream = eventually(upstream_of_the_triggered_run, seconds=120)
    trace = read(server, f"airflow/dag-runs/demo_shop_report/{quote(dag_run['dag_run_id'], safe='')}/trace")
    assert [(u["job"]["name"], u["runId"]) for u in trace["upstream"]] == [("rebuild_revenue_export", run_id)]
    assert {r["job"]["name"] for r in trace["runs"]} == {"demo_shop_report", "demo_shop_report.country_report"}
    assert upstream, "the triggered DAG run sent no jobDependencies"
    assert [(u["job"]["namespace"], u["job"]["name"], u["run"]["runId"]) for u in upstream] == [
        ("finance-scripts", "rebuild_revenue_export", run_id)
    ]
    # and the export's page says so, with the button that unmarks it for a user allowed to
    from playwright.sync_api import expect, sync_playwright
    from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "_token", "value": server.jwt("admin"), "url": server.url}])
        page = context.new_page()
        page.goto(server.url + f"ol-catalog/ui/#/dataset?ns=file&name={quote(export, safe='')}")
        expect(page.get_by_test_id("catalog-writes").get_by_text("asset event made")).to_be_visible()
        expect(page.get_by_test_id("catalog-writes").get_by_role("link", name="rebuild_revenue_export")).to_be_visible()
        expect(page.get_by_role("button", name="Stop triggering Airflow on writes")).to_be_visible()
        page.screenshot(path=str(SHOTS / "43-demo-writes-trigger-airflow.png"), full_page=True)
        browser.close()

    # a write by the Airflow task that declares the Asset: Airflow announces it itself, the catalog
    # makes no second event of it
    created = requests.post(
        server.url + "api/v2/dags/demo_shop_etl/dagRuns", json={"logical_date": None}, headers=user, timeout=30
    )
    assert created.status_code == 200, created.text

    def export_write_seen():
        seen = read(server, f"namespaces/file/datasets/{quote(export, safe='')}/airflow-assets")
        ours = [w for w in seen["catalogWrites"] if w["job"]["name"] == "demo_shop_etl.export_revenue"]
        return seen if ours and ours[0]["state"] not in ("pending", "emitting") else None

    seen = eventually(export_write_seen, seconds=180)
    assert seen, "the export task's write was not seen"
    (task_write,) = [w for w in seen["catalogWrites"] if w["job"]["name"] == "demo_shop_etl.export_revenue"]
    assert task_write["state"] == "declared" and task_write["assetEventIds"] == []
    (asset,) = seen["assets"]
    newest = asset["latestEvents"][0]
    assert (newest["sourceDagId"], newest["sourceTaskId"]) == ("demo_shop_etl", "export_revenue")
    assert [e["producingRun"]["runId"] for e in asset["latestEvents"] if e["producingRun"]] == [run_id]
