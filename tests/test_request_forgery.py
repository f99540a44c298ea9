"""Cross-site request forgery through the Airflow login cookie, and framing, against a real api-server.

The `_token` cookie goes along with requests that pages of other origins on the same site make
(another port of the same host, a sibling subdomain). A request that changes something and is
signed in by that cookie must come from the catalog's own pages: same origin, and carrying the
header the catalog's UI sends. Requests with an Authorization header are not concerned.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from http_client import LINEAGE, fresh_event
from servers import AirflowServer, free_port
from test_ui_browser import SHOTS, _logged_in, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.integration

API = "ol-catalog/api/v1/"
HEADER = "X-OL-Catalog-Request"


@pytest.fixture(scope="module")
def server(page_server):
    """The shared page server: every case here makes its own tokens, events and namespaces."""
    return page_server


def own_origin(server: AirflowServer) -> str:
    return server.url.rstrip("/")


def as_cookie(server: AirflowServer, method: str, path: str, user: str = "admin", **kwargs) -> requests.Response:
    """A request signed in only by the login cookie, as a browser sends it."""
    return requests.request(method, server.url + path, cookies={"_token": server.jwt(user)}, timeout=30, **kwargs)


def from_the_ui(server: AirflowServer) -> dict:
    return {"Origin": own_origin(server), "Sec-Fetch-Site": "same-origin", HEADER: "ui"}


def stored_runs(server: AirflowServer, run_id: str) -> int:
    answer = requests.get(
        server.url + API + "events/lineage",
        params={"runId": run_id},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["totalCount"]


def active_tokens(server: AirflowServer) -> set[str]:
    answer = requests.get(
        server.url + API + "admin/tokens", headers={"Authorization": f"Bearer {server.jwt('admin')}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {t["name"] for t in answer.json()["tokens"]}


def quarantined(server: AirflowServer, namespace: str) -> int:
    answer = requests.get(
        server.url + API + "admin/quarantine",
        params={"namespace": namespace},
        headers={"Authorization": f"Bearer {server.jwt('admin')}"},
        timeout=10,
    )
    return answer.json()["totalCount"]


def refusals(server: AirflowServer) -> list[dict]:
    answer = requests.get(
        server.url + API + "admin/refusals", headers={"Authorization": f"Bearer {server.jwt('admin')}"}, timeout=10
    )
    return answer.json()["refusals"]


def test_cookie_requests_that_change_state_need_the_catalogs_header(server):
    payload = fresh_event("csrf-" + uuid.uuid4().hex[:6])
    body = json.dumps(payload).encode()
    refused = as_cookie(server, "POST", LINEAGE, data=body)  # a no-cors fetch: a body, no Content-Type
    assert refused.status_code == 403, refused.text
    assert HEADER in refused.json()["detail"] and "Authorization: Bearer" in refused.json()["detail"]
    refused = as_cookie(
        server, "POST", LINEAGE + "/batch", data=json.dumps([payload]).encode(), headers={"Origin": own_origin(server)}
    )
    assert refused.status_code == 403 and HEADER in refused.json()["detail"]
    assert stored_runs(server, payload["run"]["runId"]) == 0
    stored = as_cookie(server, "POST", LINEAGE, data=body, headers=from_the_ui(server))
    assert stored.status_code == 201, stored.text
    assert stored_runs(server, payload["run"]["runId"]) == 1


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Origin": "http://127.0.0.1:1"}, "Origin http://127.0.0.1:1"),
        ({"Origin": "null"}, "Origin null"),
        ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site same-site"),
    ],
)
def test_cookie_requests_from_another_origin_are_refused_even_with_the_header(server, headers, named):
    payload = fresh_event()
    refused = as_cookie(server, "POST", LINEAGE, json=payload, headers={HEADER: "ui", **headers})
    assert refused.status_code == 403, refused.text
    assert named in refused.json()["detail"]
    assert stored_runs(server, payload["run"]["runId"]) == 0


@pytest.mark.parametrize(
    "other",
    ["pref=dark mode", 'consent={"ads": false}', "a[b]=1", "lang=d\u00e9", "bare", "x=1;;", 'q="unclosed'],
)
def test_the_login_cookie_is_seen_beside_cookies_a_strict_parser_refuses(server, other):
    """Cookies of other applications on the host (a space, JSON, brackets, no `=`) come with the login
    cookie; the forgery check reads the header as authentication does, so it still refuses."""
    payload = fresh_event("csrf-" + uuid.uuid4().hex[:6])
    for cookie in (f"{other}; _token={server.jwt('admin')}", f"_token={server.jwt('admin')}; {other}"):
        refused = requests.post(
            server.url + LINEAGE,
            data=json.dumps(payload).encode(),
            headers={"Cookie": cookie.encode().decode("latin-1"), "Origin": "http://127.0.0.1:1"},
            timeout=30,
        )
        assert refused.status_code == 403, (cookie, refused.text)
        assert "Origin http://127.0.0.1:1" in refused.json()["detail"]
    assert stored_runs(server, payload["run"]["runId"]) == 0


def test_a_login_cookie_in_one_of_several_cookie_headers_is_seen(server):
    """HTTP/2 sends each cookie in a header of its own, which a proxy may pass on so: the check reads
    them all, not only the last."""
    payload = fresh_event("csrf-" + uuid.uuid4().hex[:6])
    for cookies in ([f"_token={server.jwt('admin')}", "theme=dark"], ["theme=dark", f"_token={server.jwt('admin')}"]):
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            body = json.dumps(payload).encode()
            head = "".join(f"Cookie: {c}\r\n" for c in cookies)
            sock.sendall(
                f"POST /{LINEAGE} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: http://127.0.0.1:1\r\n"
                f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 403"), (cookies[0][:6], answer[:300])
    assert stored_runs(server, payload["run"]["runId"]) == 0


def test_form_posts_and_body_less_posts_revoke_and_replay_nothing(server):
    victim = "victim-" + uuid.uuid4().hex[:6]
    server.create_token(victim)
    revoke = f"{API}admin/tokens/{victim}/revoke"
    form = as_cookie(
        server,
        "POST",
        revoke,
        data={"confirm": "yes"},
        headers={"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},
    )
    assert form.status_code == 403, form.text
    assert as_cookie(server, "POST", revoke).status_code == 403  # no body at all
    assert victim in active_tokens(server)
    namespace = "held-" + uuid.uuid4().hex[:6]
    admin = {"Authorization": f"Bearer {server.jwt('admin')}"}
    assert (
        requests.post(
            server.url + API + "admin/namespaces", json={"name": namespace}, headers=admin, timeout=10
        ).status_code
        == 201
    )
    assert requests.delete(server.url + API + f"namespaces/{namespace}", headers=admin, timeout=10).status_code == 200
    assert requests.post(
        server.url + LINEAGE,
        json=fresh_event(namespace),
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    ).json()["quarantined"]
    assert (
        requests.post(server.url + API + f"namespaces/{namespace}/restore", headers=admin, timeout=10).status_code
        == 200
    )
    assert as_cookie(server, "POST", API + "admin/quarantine/replay").status_code == 403
    assert quarantined(server, namespace) == 1
    # The same from the catalog's own pages works.
    replayed = as_cookie(
        server, "POST", API + "admin/quarantine/replay", json={"namespace": namespace}, headers=from_the_ui(server)
    )
    assert replayed.status_code == 200 and replayed.json()["total"] == 1, replayed.text
    assert as_cookie(server, "POST", revoke, json={}, headers=from_the_ui(server)).status_code == 200
    assert victim not in active_tokens(server)


def test_every_state_changing_route_refuses_a_cookie_without_the_header(server):
    document = requests.get(server.url + "ol-catalog/openapi.json", timeout=10).json()
    changing = [
        (m.upper(), p)
        for p, ops in document["paths"].items()
        for m in ops
        if m.upper() in ("POST", "PUT", "PATCH", "DELETE")
    ]
    assert len(changing) >= 15
    for method, path in changing:
        for name in ("namespace", "dataset", "job", "name"):
            path = path.replace("{" + name + ":path}", "x").replace("{" + name + "}", "x")
        answer = as_cookie(server, method, "ol-catalog" + path, json={})
        assert answer.status_code == 403 and HEADER in answer.json()["detail"], (
            method,
            path,
            answer.status_code,
            answer.text,
        )


def test_authorization_headers_are_not_concerned(server):
    foreign = {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "cross-site"}
    payload = fresh_event()
    sent = requests.post(
        server.url + LINEAGE, json=payload, headers={"Authorization": f"Bearer {server.token}", **foreign}, timeout=10
    )
    assert sent.status_code == 201, sent.text
    victim = "jwt-victim-" + uuid.uuid4().hex[:6]
    server.create_token(victim)
    revoked = requests.post(
        server.url + API + f"admin/tokens/{victim}/revoke",
        headers={"Authorization": f"Bearer {server.jwt('admin')}", **foreign},
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    # Without any credential the answer stays 401: nothing to forge.
    assert requests.post(server.url + LINEAGE, json=fresh_event(), timeout=10).status_code == 401
    # Reads with the cookie need no header.
    assert as_cookie(server, "GET", API + "namespaces", user="viewer").status_code == 200


def test_pages_and_answers_may_be_framed_only_by_the_same_origin_and_are_not_sniffed(server):
    jwt = server.jwt("viewer")
    answers = {
        "ui": requests.get(server.url + "ol-catalog/ui/", cookies={"_token": jwt}, timeout=10),
        "api": requests.get(server.url + API + "namespaces", cookies={"_token": jwt}, timeout=10),
        "refusal": requests.get(server.url + API + "namespaces", timeout=10),
        "health": requests.get(server.url + "ol-catalog/health", timeout=10),
        "docs": requests.get(server.url + "ol-catalog/docs", timeout=10),
    }
    for what, answer in answers.items():
        assert answer.headers.get("X-Frame-Options") == "SAMEORIGIN", what
        assert answer.headers.get("Content-Security-Policy") == "frame-ancestors 'self'", what
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", what


# --- in the browser: a page of another origin on the same site -----------------------------------


def _attack_page(catalog: str, ingested: dict, form_victim: str, fetch_victim: str) -> str:
    return f"""<!doctype html><html><head><title>loading</title></head><body>
<h1>Cute cats</h1>
<iframe name="sink" style="display:none"></iframe>
<form id="revoke" method="POST" action="{catalog}{API}admin/tokens/{form_victim}/revoke" target="sink">
  <input type="hidden" name="please" value="1">
</form>
<script>
// A cookie the strictest parsers refuse, set for the host (cookies are shared by its ports): the
// login cookie beside it must still be seen.
document.cookie = "pref=dark mode; path=/";
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const event = {json.dumps(ingested)};
const sent = [
  fetch("{catalog}{LINEAGE}", {{method: "POST", mode: "no-cors", credentials: "include", body: new Blob([JSON.stringify(event)])}}),
  fetch("{catalog}{API}admin/tokens/{fetch_victim}/revoke", {{method: "POST", mode: "no-cors", credentials: "include"}}),
];
document.getElementById("revoke").submit();
Promise.allSettled(sent).then(() => sleep(2000)).then(() => {{ document.title = "done"; }});
</script></body></html>"""


@pytest.fixture
def other_origin():
    """A tiny web server on another port of the same host: same site, another origin."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", pages
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_page_of_another_origin_stores_nothing_and_revokes_nothing(server, browser, other_origin):  # noqa: F811
    from playwright.sync_api import expect

    origin, pages = other_origin
    form_victim, fetch_victim = "form-victim-" + uuid.uuid4().hex[:6], "fetch-victim-" + uuid.uuid4().hex[:6]
    server.create_token(form_victim)
    server.create_token(fetch_victim)
    ingested = fresh_event("forged")
    pages["/cats.html"] = _attack_page(server.url, ingested, form_victim, fetch_victim)
    context, page = _logged_in(server, browser, "admin")
    try:
        page.goto(origin + "/cats.html")
        expect(page).to_have_title("done", timeout=20_000)
        page.screenshot(path=str(SHOTS / "16-cross-origin-attack-page.png"))
        assert stored_runs(server, ingested["run"]["runId"]) == 0
        assert {form_victim, fetch_victim} <= active_tokens(server)
        # The forged event did reach the catalog, with the cookie, and was refused for its origin.
        deadline = time.monotonic() + 10
        while not any(f"Origin {origin} is not this server's" in r["detail"] for r in refusals(server)):
            assert time.monotonic() < deadline, refusals(server)
            time.sleep(0.5)

        # The catalog's own pages, in Airflow's same-origin iframe, still change things.
        page.goto(server.url + "plugin/lineage-admin")
        frame = page.frame_locator("iframe")
        # Airflow's page, then the catalog's in its iframe: two page loads on a busy machine.
        expect(frame.get_by_role("heading", name="Lineage admin")).to_be_visible(timeout=30_000)
        frame.get_by_role("tab", name="Tokens").click()
        row = frame.get_by_role("row").filter(has=frame.get_by_role("cell", name=form_victim, exact=True))
        # Airflow's iframe is sandboxed without modals: the page asks itself, not window.confirm.
        row.get_by_role("button", name="Revoke").click()
        row.get_by_role("button", name="Yes, revoke").click()
        expect(row.get_by_text("revoked")).to_be_visible()
        page.screenshot(path=str(SHOTS / "17-admin-revokes-in-airflows-iframe.png"))
        assert form_victim not in active_tokens(server) and fetch_victim in active_tokens(server)
        page.goto(server.url + "plugin/lineage")
        expect(page.frame_locator("iframe").get_by_role("heading", name="Lineage catalog")).to_be_visible()
    finally:
        context.close()
