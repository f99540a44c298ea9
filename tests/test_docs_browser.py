"""The API's docs page in Debian's headless Chromium: Swagger UI comes from the package, and the
page works with every request to another host refused (a machine without internet)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from test_ui_browser import CHROMIUM, browser, shot  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.integration


def test_the_api_docs_load_with_no_request_leaving_the_server(page_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    elsewhere: list[str] = []

    def only_this_server(route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(page_server.url).netloc:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(f"{page_server.url}ol-catalog/docs")  # open, like the document it shows: no login
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/lineage").first).to_be_visible()
    expect(page.get_by_role("heading", name="OpenLineage catalog")).to_be_visible()
    shot(page, "90-api-docs")
    context.close()
    assert elsewhere == []


def test_the_docs_files_are_the_package_s_own_and_nothing_else(page_server):
    base = f"{page_server.url}ol-catalog/docs/"
    bundle = requests.get(base + "swagger-ui-bundle.js", timeout=10)
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    for name in ("..%2F..%2Fprovider.py", "..%2Findex.html", "nothing.js"):
        assert requests.get(base + name, timeout=10).status_code == 404, name
    assert requests.get(f"{page_server.url}ol-catalog/redoc", timeout=10).status_code == 404  # it would load from a CDN
