"""The catalog under FabAuthManager (the Flask-AppBuilder auth manager most production installs use).

Roles map to the catalog's permissions through assets: Viewer reads, Op and Admin also send
events and administer. Checked over HTTP and in the browser, through FAB's own login form.
"""

from __future__ import annotations

import time

import pytest
import requests
from http_client import LINEAGE, fresh_event
from servers import AirflowServer
from test_ui_browser import SHOTS, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.integration

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
USERS = {"admin": "Admin", "operator": "Op", "viewer": "Viewer"}


@pytest.fixture(scope="module")
def fab_server():
    server = AirflowServer(
        extra_env={
            "AIRFLOW__CORE__AUTH_MANAGER": FAB,
            "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret-for-fab-only",
            "AIRFLOW__API__SECRET_KEY": "test-secret-key-for-fab-only",
            "AIRFLOW__FAB__AUTH_RATE_LIMITED": "False",  # the browser logs in more than 5 times in 40 s
            "AIRFLOW__FAB__CACHE_TTL": "1",  # a role's new permission counts at once (FAB caches users 30 s)
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "fab-demo",  # where the DAG tabs read this Airflow's jobs
        }
    )
    server.env["AIRFLOW__API__BASE_URL"] = server.url.rstrip("/")
    try:
        server.start()
        server.cli(
            "users",
            "create",
            "--username",
            "admin",
            "--password",
            "admin-pw",
            "--role",
            "Admin",
            "--firstname",
            "admin",
            "--lastname",
            "Test",
            "--email",
            "admin@example.com",
        )
        # the other users through the FAB auth manager's own API (an `airflow users create` costs seconds)
        admin = {"Authorization": f"Bearer {fab_jwt(server, 'admin')}"}
        for user, role in USERS.items():
            if user != "admin":
                created = requests.post(
                    server.url + "auth/fab/v1/users",
                    json={
                        "username": user,
                        "password": f"{user}-pw",
                        "roles": [{"name": role}],
                        "first_name": user,
                        "last_name": "Test",
                        "email": f"{user}@example.com",
                    },
                    headers=admin,
                    timeout=30,
                )
                assert created.status_code in (200, 201), created.text
        yield server
    finally:
        server.cleanup()


def fab_jwt(server: AirflowServer, user: str) -> str:
    response = requests.post(server.url + "auth/token", json={"username": user, "password": f"{user}-pw"}, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


def test_roles_map_to_read_send_and_administer(fab_server):
    def call(user, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {fab_jwt(fab_server, user)}"} if user else {}
        return requests.request(method, fab_server.url + path, headers=headers, timeout=10, **kwargs).status_code

    assert call("viewer", "GET", "ol-catalog/api/v1/namespaces") == 200
    assert call("viewer", "GET", "ol-catalog/ui/") == 200
    assert call("viewer", "POST", LINEAGE, json=fresh_event()) == 403
    assert call("viewer", "GET", "ol-catalog/api/v1/admin/tokens") == 403
    assert call("operator", "POST", LINEAGE, json=fresh_event()) == 201
    assert call("admin", "POST", LINEAGE, json=fresh_event()) == 201
    assert call("admin", "GET", "ol-catalog/api/v1/admin/tokens") == 200
    assert call(None, "GET", "ol-catalog/api/v1/namespaces") == 401
    assert call(None, "GET", "ol-catalog/ui/") == 401


def test_op_and_admin_may_tag_a_viewer_may_not(fab_server):
    event = fresh_event()
    event["outputs"] = [{"namespace": "s3://fab-tags", "name": "orders"}]
    sent = requests.post(
        fab_server.url + LINEAGE, json=event, headers={"Authorization": f"Bearer {fab_server.token}"}, timeout=10
    )
    assert sent.status_code == 201, sent.text
    path = fab_server.url + "ol-catalog/api/v1/namespaces/s3%3A%2F%2Ffab-tags/datasets/orders/tags/"

    def tag(user, name):
        headers = {"Authorization": f"Bearer {fab_jwt(fab_server, user)}"}
        return requests.post(path + name, headers=headers, timeout=10)

    assert tag("viewer", "pii").status_code == 403
    assert tag("operator", "pii").json()["tagOrigins"][0]["setBy"] == "operator"
    assert tag("admin", "gold").json()["tags"] == ["gold", "pii"]


def test_only_roles_that_read_connections_see_them_on_data_sources(fab_server):
    fab_server.cli(
        "connections",
        "add",
        "fab_pg",
        "--conn-type",
        "postgres",
        "--conn-host",
        "fab-db.internal",
        "--conn-schema",
        "shop",
    )

    def data_sources(user):
        answer = requests.get(
            fab_server.url + "ol-catalog/api/v1/data-sources",
            headers={"Authorization": f"Bearer {fab_jwt(fab_server, user)}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer

    for user in ("admin", "operator"):
        body = data_sources(user).json()
        assert body["withheld"] is None and "fab_pg" in {s["connId"] for s in body["dataSources"]}, user
    viewer = data_sources("viewer")
    assert "fab_pg" not in viewer.text and "fab-db" not in viewer.text
    assert "may not read Connections" in viewer.json()["withheld"]["reason"]
    assert [s["scheme"] for s in viewer.json()["dataSources"]] == [s["scheme"] for s in body["dataSources"]]


def _fab_login(server: AirflowServer, browser, user: str):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(server.url + "auth/login/")
    page.locator("#username").fill(user)
    page.locator("#password").fill(f"{user}-pw")
    page.locator("input[type=submit]").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    return context, page


def _opens_the_catalog_from_browse(server: AirflowServer, browser, user: str, shot: str) -> None:  # noqa: F811
    """Signed in through FAB's form, the user finds Lineage under Browse and the catalog opens."""
    from playwright.sync_api import expect

    context, page = _fab_login(server, browser, user)
    try:
        page.get_by_role("button", name="Browse").click()
        page.get_by_role("menuitem", name="Lineage", exact=True).click()
        expect(page.frame_locator("iframe").get_by_role("heading", name="Lineage catalog")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"{shot}.png"))
    finally:
        context.close()


def test_roles_sync_lets_every_role_that_reads_assets_see_the_pages(fab_server, browser):  # noqa: F811
    """FAB gives Plugins read, which Airflow's UI asks of a plugin's menu entries and tabs, to Op
    and Admin only: `airflow ol-catalog roles sync` grants it to every role that may read assets,
    custom roles included, and to no other; a Viewer then finds the catalog in Browse."""

    admin = {"Authorization": f"Bearer {fab_jwt(fab_server, 'admin')}"}

    def reads(role: str, resource: str) -> bool:
        answer = requests.get(fab_server.url + f"auth/fab/v1/roles/{role}", headers=admin, timeout=30)
        assert answer.status_code == 200, answer.text
        held = {(p["action"]["name"], p["resource"]["name"]) for p in answer.json()["actions"]}
        return ("can_read", resource) in held

    for role, resources in {"Analyst": ["Assets", "DAGs"], "Auditor": ["Audit Logs"]}.items():
        created = requests.post(
            fab_server.url + "auth/fab/v1/roles",
            json={
                "name": role,
                "actions": [{"action": {"name": "can_read"}, "resource": {"name": r}} for r in resources],
            },
            headers=admin,
            timeout=30,
        )
        assert created.status_code in (200, 201), created.text
    assert not reads("Viewer", "Plugins") and not reads("Analyst", "Plugins") and reads("Op", "Plugins")
    viewer = {"Authorization": f"Bearer {fab_jwt(fab_server, 'viewer')}"}
    assert requests.get(fab_server.url + "api/v2/plugins", headers=viewer, timeout=30).status_code == 403

    refused = fab_server.cli("ol-catalog", "roles", "sync", "--role", "Analyst", "--role", "Nobody", check=False)
    assert refused.returncode == 1 and "error: no role named Nobody: nothing was changed" in refused.stderr
    assert not reads("Analyst", "Plugins")
    one = fab_server.cli("ol-catalog", "roles", "sync", "--role", "Analyst").stdout
    assert "Analyst: may now read Plugins" in one and "Viewer" not in one and not reads("Viewer", "Plugins")
    synced = fab_server.cli("ol-catalog", "roles", "sync").stdout
    for role in ("User", "Viewer"):
        assert f"{role}: may now read Plugins" in synced
    assert "Analyst: already reads Plugins" in synced and "Op: already reads Plugins" in synced
    assert "Auditor: left as it is" in synced
    assert reads("Viewer", "Plugins") and reads("Analyst", "Plugins") and not reads("Auditor", "Plugins")
    again = fab_server.cli("ol-catalog", "roles", "sync").stdout
    assert "may now read" not in again and "Viewer: already reads Plugins" in again

    plugins = None
    for _ in range(20):  # FAB's cache of the signed-in user lasts [fab] cache_ttl (1 s here)
        plugins = requests.get(fab_server.url + "api/v2/plugins", headers=viewer, timeout=30)
        if plugins.status_code == 200:
            break
        time.sleep(0.5)
    assert plugins is not None and plugins.status_code == 200, plugins.text
    assert "ol_catalog" in [p["name"] for p in plugins.json()["plugins"]]
    # the catalog's pages, not Airflow's own Plugins page: its menu entry stays Op's and Admin's
    menus = requests.get(fab_server.url + "ui/auth/menus", headers=viewer, timeout=30).json()
    assert "Assets" in menus["authorized_menu_items"] and "Plugins" not in menus["authorized_menu_items"]
    _opens_the_catalog_from_browse(fab_server, browser, "viewer", "12b-fab-viewer-browse-lineage")


def test_admin_browses_the_catalog_and_a_viewer_is_refused_admin(fab_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    _opens_the_catalog_from_browse(fab_server, browser, "admin", "12-fab-admin-overview")
    context, page = _fab_login(fab_server, browser, "viewer")
    try:
        page.goto(fab_server.url + "ol-catalog/ui/#/admin")
        expect(page.get_by_role("alert")).to_contain_text("may not administer the catalog")
        page.goto(fab_server.url + "ol-catalog/ui/")
        expect(page.get_by_role("heading", name="Lineage catalog")).to_be_visible()
        page.screenshot(path=str(SHOTS / "13-fab-viewer-overview.png"))
    finally:
        context.close()


def test_the_dag_dag_run_and_task_instance_tabs_show_lineage_under_fab(fab_server, browser):  # noqa: F811
    """The demo DAG, parsed and triggered in this Airflow, with the OpenLineage events its run and a
    task of it would send: an admin signed in through FAB sees them in the three tabs."""
    import json
    import shutil
    import uuid
    from pathlib import Path
    from urllib.parse import quote

    from playwright.sync_api import expect
    from test_events import run_event

    shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "dags" / "demo_shop.py", fab_server.home / "dags")
    fab_server.cli("dags", "reserialize", timeout=300)
    admin = {"Authorization": f"Bearer {fab_jwt(fab_server, 'admin')}"}
    created = requests.post(
        fab_server.url + "api/v2/dags/demo_shop_etl/dagRuns", json={"logical_date": None}, headers=admin, timeout=30
    )
    assert created.status_code == 200, created.text
    dag_run_id = created.json()["dag_run_id"]
    spec = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
    dag_run, task_run = str(uuid.uuid4()), str(uuid.uuid4())
    dag_facet = {
        "_producer": "https://example.com/airflow",
        "_schemaURL": spec,
        "dag": {"dag_id": "demo_shop_etl"},
        "dagRun": {"dag_id": "demo_shop_etl", "run_id": dag_run_id},
    }
    task_facet = dag_facet | {
        "task": {"task_id": "load_orders", "operator_class": "ShopQuery"},
        "taskInstance": {"try_number": 1},
    }
    parent = {
        "_producer": "https://example.com/airflow",
        "_schemaURL": spec,
        "run": {"runId": dag_run},
        "job": {"namespace": "fab-demo", "name": "demo_shop_etl"},
    }
    tables = {
        "inputs": [{"namespace": "sqlite://localhost", "name": "shop.main.raw_orders"}],
        "outputs": [{"namespace": "sqlite://localhost", "name": "shop.main.orders"}],
    }
    for event_type in ("START", "COMPLETE"):
        for payload in (
            run_event(
                eventType=event_type,
                run={"runId": dag_run, "facets": {"airflowDagRun": dag_facet}},
                job={"namespace": "fab-demo", "name": "demo_shop_etl", "facets": {}},
            ),
            run_event(
                eventType=event_type,
                run={"runId": task_run, "facets": {"airflow": task_facet, "parent": parent}},
                job={"namespace": "fab-demo", "name": "demo_shop_etl.load_orders", "facets": {}},
                **tables,
            ),
        ):
            sent = requests.post(
                fab_server.url + LINEAGE,
                data=json.dumps(payload),
                headers={"Authorization": f"Bearer {fab_server.token}", "Content-Type": "application/json"},
                timeout=30,
            )
            assert sent.status_code == 201, sent.text
    context, page = _fab_login(fab_server, browser, "admin")
    try:
        page.goto(fab_server.url + "dags/demo_shop_etl")
        page.get_by_role("link", name="Lineage", exact=True).click()
        expect(
            page.frame_locator("iframe").locator('[data-node-id="job:fab-demo:demo_shop_etl.load_orders"]')
        ).to_be_visible()
        page.screenshot(path=str(SHOTS / "46-fab-dag-lineage-tab.png"))
        run_page = fab_server.url + f"dags/demo_shop_etl/runs/{quote(dag_run_id, safe='')}"
        page.goto(run_page)
        page.get_by_role("link", name="Lineage", exact=True).click()
        expect(page.frame_locator("iframe").get_by_test_id("trace-run")).to_have_count(2)
        page.screenshot(path=str(SHOTS / "47-fab-dag-run-lineage-tab.png"))
        page.goto(run_page + "/tasks/load_orders")
        page.get_by_role("link", name="OpenLineage", exact=True).click()
        expect(page.frame_locator("iframe").get_by_role("link", name="shop.main.orders")).to_be_visible()
        page.screenshot(path=str(SHOTS / "48-fab-task-instance-tab.png"))
    finally:
        context.close()


def test_a_viewer_explores_column_lineage_under_fab_in_light_and_dark(fab_server, browser):  # noqa: F811
    """A Viewer signed in through FAB uses the explorer as under the simple auth manager: column
    cards, a click that traces a column, the keyboard, dark mode; axe finds nothing serious."""
    import json
    from pathlib import Path

    from playwright.sync_api import expect
    from test_ui_browser import _is_dark, _score_report_event, _serious_violations

    examples = Path(__file__).resolve().parents[1] / "examples" / "03_column_lineage"
    for payload in (json.loads((examples / "02_customer_scores_complete.json").read_text()), _score_report_event()):
        assert fab_server.send(payload).status_code == 201
    context, page = _fab_login(fab_server, browser, "viewer")
    try:
        page.goto(
            fab_server.url
            + "ol-catalog/ui/#/graph?columns=true&node=dataset%3Abigquery%3Aacme.marketing.customer_scores"
        )
        expect(page.locator('[data-kind="card"]')).to_have_count(4)
        segment = page.locator('[data-row-id="datasetField:bigquery:acme.marketing.customer_scores:segment"]')
        segment.locator("button").click()
        expect(page.locator('.olc-row[data-lit="true"]')).to_have_count(4)  # amount and country -> segment -> tier
        assert _serious_violations(page) == []
        page.screenshot(path=str(SHOTS / "55-fab-viewer-column-trace.png"))
        # Dark, from the keyboard: Tab reaches a column, Enter traces it.
        page.evaluate("localStorage.setItem('theme', 'dark')")
        page.reload()
        expect(page.locator("html")).to_have_class("dark")
        page.locator('[data-row-id="datasetField:bigquery:acme.marketing.score_report:customer_id"] button').focus()
        page.keyboard.press("Enter")
        expect(page.locator('.olc-row[data-lit="true"]')).to_have_count(3)  # id -> customer_id -> customer_id
        card = page.locator('[data-card-id="dataset:bigquery:acme.marketing.score_report"]')
        assert _is_dark(card.evaluate("e => getComputedStyle(e).backgroundColor"))
        assert _serious_violations(page) == []
        page.screenshot(path=str(SHOTS / "56-fab-viewer-column-trace-dark.png"))
    finally:
        context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_page_works_under_fab_in_light_and_dark_with_no_serious_axe_finding(fab_server, browser, mode):  # noqa: F811
    """The walk of the simple auth manager's accessibility test, signed in through FAB: the sample
    events and the story of fresh and late tables, then every page (the overview's charts, search,
    a dataset's tabs with its impact table, a job, a run, the graph coloured and compared, column
    cards, two runs compared, events, runs, data sources, admin) renders without a page error and
    axe-core finds nothing serious."""
    import json
    from pathlib import Path

    from playwright.sync_api import expect
    from test_ui_browser import ACCESSIBLE_PAGES, _serious_violations, _story_events

    examples = Path(__file__).resolve().parents[1] / "examples"
    if not getattr(fab_server, "walked_data", False):
        sent = fab_server.cli("ol-catalog", "send", str(examples), "--url", fab_server.url, "--token", fab_server.token)
        assert "0 rejected" in sent.stdout
        for payload in _story_events():
            assert fab_server.send(payload).status_code == 201
        fab_server.walked_data = True
    context, page = _fab_login(fab_server, browser, "admin")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    found = {}
    try:
        page.goto(fab_server.url + "ol-catalog/ui/")
        page.evaluate(f"localStorage.setItem('theme', '{mode}')")
        page.reload()  # the mode is read when the page loads; the pages below only change its hash
        expect(page.locator("html")).to_have_class(mode)
        for target in ACCESSIBLE_PAGES:
            if target.startswith("#/dag/"):
                continue  # needs a parsed DAG: the DAG tabs have their own test above
            page.goto(fab_server.url + "ol-catalog/ui/" + target)
            expect(page.get_by_text("Loading")).to_have_count(0, timeout=15_000)
            expect(page.get_by_role("alert")).to_have_count(0)
            page.wait_for_timeout(300)
            if problems := _serious_violations(page):
                found[target] = problems
        page.screenshot(path=str(SHOTS / f"57-fab-admin-walk-{mode}.png"))
    finally:
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)
    assert errors == []
