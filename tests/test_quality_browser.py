"""Data quality on the dataset page, in Debian's headless Chromium: dbt-ol's test results by
column with the run that checked them, the failing column marked in the schema, and a malformed
facet or HTML in a test's name that leave the page working and inert."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import EXAMPLES
from servers import AirflowServer
from test_ui_browser import CHROMIUM, HOSTILE, _logged_in, browser, shot  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.integration

TABLE_NS, TABLE = "postgres://pg.prod.internal:5432", "shop.billing.invoices"
FAILING_RUN = "019a0000-0000-7000-8000-000000000082"


def _odd_event() -> dict:
    """A test run whose facet has an assertion without a result and HTML for a test and a column."""
    event = json.loads((EXAMPLES / "08_data_quality" / "02_invoices_tests_complete.json").read_text())
    event["run"]["runId"] = "019a0000-0000-7000-8000-0000000000ff"
    event["job"]["name"] = "odd.test"
    assertions = [
        {"assertion": f"custom{HOSTILE}", "column": f"col{HOSTILE}", "success": False},
        {"assertion": "not_null", "column": "id"},
        "not an object",
    ]
    facet = {"assertions": assertions}
    event["inputs"] = [{"namespace": "s3://odd", "name": "odd_table", "inputFacets": {"dataQualityAssertions": facet}}]
    return event


@pytest.fixture(scope="module")
def server(page_server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    files = sorted((EXAMPLES / "02_table_lineage").glob("*.json")) + sorted(
        (EXAMPLES / "08_data_quality").glob("*.json")
    )
    for payload in [json.loads(f.read_text()) for f in files] + [_odd_event()]:
        answer = page_server.send(payload)
        assert answer.status_code == 201, answer.text
    return page_server


def page_of(server: AirflowServer, kind: str, ns: str, name: str) -> str:
    return f"{server.url}ol-catalog/ui/#/{kind}?ns={quote(ns, safe='')}&name={quote(name, safe='')}"


def test_the_dataset_page_shows_a_failed_test_by_column_with_the_run_that_checked_it(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    context, page = _logged_in(server, browser, "viewer")
    page.goto(page_of(server, "dataset", TABLE_NS, TABLE))
    quality = page.get_by_test_id("quality")
    expect(quality.get_by_text("3 passed")).to_be_visible()
    expect(quality.get_by_text("1 failed")).to_be_visible()
    failed = quality.locator('[data-result="failed"]')
    expect(failed).to_have_count(1)
    expect(failed).to_have_text("✗ not_null (3)")
    expect(failed).to_have_attribute(
        "title",
        re.compile(
            r"^not_null_invoices_customer_id · severity error · expected 0 · actual 3 · checked .* by run "
            + FAILING_RUN
        ),
    )
    rows = quality.get_by_test_id("quality-column")
    expect(rows.first).to_contain_text("whole dataset")  # dbt_utils' expression_is_true names no column
    expect(rows.filter(has_text="customer_id")).to_have_count(1)
    expect(rows.filter(has_text="order_id").locator('[data-result="passed"]')).to_have_count(2)
    expect(quality.get_by_test_id("quality-run")).to_have_text(FAILING_RUN)
    schema_row = page.get_by_role("row").filter(has=page.get_by_test_id("failing-column"))
    expect(schema_row).to_have_count(1)
    expect(schema_row).to_contain_text("customer_id")
    shot(page, "quality-01-failed-test")

    quality.get_by_test_id("quality-run").click()
    expect(page.get_by_test_id("title")).to_contain_text(FAILING_RUN)
    assert page.errors == []
    context.close()


def test_a_malformed_facet_and_html_in_a_test_leave_the_page_working_and_inert(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    context, page = _logged_in(server, browser, "viewer")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(page_of(server, "dataset", "s3://odd", "odd_table"))
    quality = page.get_by_test_id("quality")
    expect(quality.get_by_text("1 without a result")).to_be_visible()
    expect(quality.locator('[data-result="failed"]')).to_have_text(f"✗ custom{HOSTILE}")
    expect(quality.locator('[data-result="unknown"]')).to_have_text("? not_null")
    expect(quality.get_by_test_id("quality-problems")).to_contain_text("assertions[2]: expected an object, got str")
    shot(page, "quality-02-malformed-facet")
    assert page.evaluate("window.__xss") is None and dialogs == [] and page.errors == []
    context.close()


def test_tests_sent_by_a_job_each_show_together_each_with_its_own_run(server, browser):  # noqa: F811
    """dbt-ol's structured logs send every test from a job of its own: the page shows all of them,
    says how many runs they came from, and each test's tooltip names its own run."""
    from playwright.sync_api import expect

    table = "two_jobs_" + uuid.uuid4().hex[:6]
    runs = []
    for i, (test, success) in enumerate((("unique", True), ("not_null", False))):
        event = json.loads((EXAMPLES / "08_data_quality" / "02_invoices_tests_complete.json").read_text())
        runs.append(f"019a0000-0000-7000-8000-00000000010{i}")
        event["run"] = {"runId": runs[-1]}
        event["job"]["name"] = f"{table}.{test}_id"
        event["eventTime"] = f"2026-03-04T08:0{i}:00Z"
        facet = {"assertions": [{"assertion": test, "column": "id", "success": success}]}
        event["inputs"] = [{"namespace": "s3://odd", "name": table, "inputFacets": {"dataQualityAssertions": facet}}]
        answer = server.send(event)
        assert answer.status_code == 201, answer.text
    context, page = _logged_in(server, browser, "viewer")
    page.goto(page_of(server, "dataset", "s3://odd", table))
    quality = page.get_by_test_id("quality")
    expect(quality.get_by_text("1 passed")).to_be_visible()
    expect(quality.get_by_text("1 failed")).to_be_visible()
    expect(quality).to_contain_text("newest check")
    expect(quality).to_contain_text("results of 2 runs")
    expect(quality.get_by_test_id("quality-run")).to_have_text(runs[1])
    expect(quality.locator('[data-result="passed"]')).to_have_attribute("title", re.compile("by run " + runs[0]))
    shot(page, "quality-03-a-job-per-test")
    assert page.errors == []
    context.close()
