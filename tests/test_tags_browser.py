"""Tags on the dataset and job pages, in Debian's headless Chromium: both kinds told apart, and an
editor adds and removes tags on a dataset, a column and a job; a viewer only sees them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from servers import AirflowServer
from test_tags import NS, TABLE_NS, tagged_event
from test_ui_browser import CHROMIUM, _logged_in, browser, shot  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(page_server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    answer = page_server.send(tagged_event())
    assert answer.status_code == 201, answer.text
    return page_server


def page_of(server: AirflowServer, kind: str, ns: str, name: str) -> str:
    return f"{server.url}ol-catalog/ui/#/{kind}?ns={quote(ns, safe='')}&name={quote(name, safe='')}"


def badge(scope, origin: str, tag: str):
    return scope.locator(f'[data-origin="{origin}"][data-tag="{tag}"]')


def test_an_editor_adds_and_removes_tags_on_a_dataset_its_columns_and_a_job(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    context, page = _logged_in(server, browser, "admin")
    page.goto(page_of(server, "dataset", TABLE_NS, "public.orders"))
    dataset_tags = page.get_by_test_id("tags dataset")
    expect(badge(dataset_tags, "facet", "tier:gold")).to_be_visible()
    expect(badge(dataset_tags, "facet", "tier:gold")).to_have_attribute(
        "title", "From the tags facet its producer sends (source DBT); it changes only with their events."
    )
    expect(badge(page.get_by_test_id("tags column email"), "facet", "PII")).to_be_visible()
    expect(page.get_by_label("Remove tag tier:gold from dataset")).to_have_count(
        0
    )  # a facet's tag is not a person's to remove

    page.get_by_label("New tag for dataset").fill("certified")
    page.get_by_label("Add tag to dataset").click()
    expect(badge(dataset_tags, "user", "certified")).to_contain_text("admin")
    page.get_by_label("New tag for column id").fill("PII")
    page.get_by_label("New tag for column id").press("Enter")
    expect(badge(page.get_by_test_id("tags column id"), "user", "PII")).to_be_visible()
    shot(page, "30-tags-added")

    page.get_by_label("Remove tag certified from dataset").click()
    expect(badge(dataset_tags, "user", "certified")).to_have_count(0)
    page.get_by_label("Remove tag PII from column id").click()
    expect(badge(page.get_by_test_id("tags column id"), "user", "PII")).to_have_count(0)
    expect(badge(dataset_tags, "facet", "tier:gold")).to_be_visible()
    shot(page, "31-tags-removed")

    page.goto(page_of(server, "job", NS, "load_orders"))
    job_tags = page.get_by_test_id("tags job")
    expect(badge(job_tags, "facet", "team:sales")).to_be_visible()
    page.get_by_label("New tag for job").fill("critical")
    page.get_by_label("Add tag to job").click()
    expect(badge(job_tags, "user", "critical")).to_be_visible()
    shot(page, "32-job-tagged")
    page.get_by_label("Remove tag critical from job").click()
    expect(badge(job_tags, "user", "critical")).to_have_count(0)
    page.get_by_label("New tag for job").fill("bad\u200bname")
    page.get_by_label("Add tag to job").click()
    expect(job_tags.get_by_role("alert")).to_contain_text("invisible or control character U+200B")
    assert page.errors == []
    context.close()


def test_a_viewer_sees_both_kinds_of_tags_and_cannot_edit(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
    path = f"ol-catalog/api/v1/namespaces/{quote(TABLE_NS, safe='')}/datasets/public.orders/tags/reviewed"
    assert requests.post(server.url + path, headers=admin, timeout=10).status_code == 200
    context, page = _logged_in(server, browser, "viewer")
    page.goto(page_of(server, "dataset", TABLE_NS, "public.orders"))
    dataset_tags = page.get_by_test_id("tags dataset")
    expect(badge(dataset_tags, "user", "reviewed")).to_be_visible()
    expect(badge(dataset_tags, "facet", "tier:gold")).to_be_visible()
    expect(page.get_by_label("New tag for dataset")).to_have_count(0)
    expect(page.get_by_label("Remove tag reviewed from dataset")).to_have_count(0)
    shot(page, "33-tags-viewer")
    context.close()
