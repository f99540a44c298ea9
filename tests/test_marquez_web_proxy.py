"""scripts/marquez-web-proxy.py: Marquez's web UI files, and its API calls sent to the catalog with a token."""

from __future__ import annotations

import http.client
import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "marquez-web-proxy.py"


def _load_proxy():
    spec = importlib.util.spec_from_file_location("marquez_web_proxy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Catalog(BaseHTTPRequestHandler):
    """Answers with what it was asked: the raw path and the Authorization header. Notes every path asked."""

    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status = 404 if "missing" in self.path else 200
        body = json.dumps({"path": self.path, "authorization": self.headers.get("Authorization")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def proxy(tmp_path):
    web = tmp_path / "dist"
    web.mkdir()
    (web / "index.html").write_text("<html>marquez</html>")
    (web / "bundle.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not to be served")
    catalog = ThreadingHTTPServer(("127.0.0.1", 0), _Catalog)
    handler = _load_proxy().MarquezWebProxy
    handler.web, handler.catalog, handler.token = web, _serve(catalog) + "/ol-catalog", "olc_read"
    handler.log_message = lambda *args: None
    front = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.hosts, handler.port = (
        frozenset({"localhost", "127.0.0.1", "[::1]", "lineage.example"}),
        front.server_address[1],
    )
    yield _serve(front)
    front.shutdown()
    catalog.shutdown()


def test_api_calls_go_to_the_catalog_with_the_token_and_the_path_as_sent(proxy):
    answer = requests.get(proxy + "/api/v1/namespaces/postgres%3A%2F%2Fdb/datasets?limit=5", timeout=10)
    assert answer.json() == {
        "path": "/ol-catalog/api/v1/namespaces/postgres%3A%2F%2Fdb/datasets?limit=5",
        "authorization": "Bearer olc_read",
    }
    assert requests.get(proxy + "/api/v1/missing", timeout=10).status_code == 404  # the catalog's answer
    assert requests.get(proxy + "/api/v2beta/search/jobs?q=x", timeout=10).status_code == 404  # not forwarded


def test_pages_are_the_ui_files_or_its_index_and_nothing_outside_the_build(proxy):
    assert requests.get(proxy + "/bundle.js", timeout=10).text == "console.log(1)"
    for page in ("/", "/lineage/job/examples/daily", "/datasets?x=1"):
        assert requests.get(proxy + page, timeout=10).text == "<html>marquez</html>", page
    host, port = proxy.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/../secret.txt")  # sent as is: no client normalises it away
    assert connection.getresponse().read() == b"<html>marquez</html>"


def test_it_only_reads_and_answers_only_requests_naming_it(proxy):
    """Every catalog token may send events: the proxy passes on GET and HEAD alone, so whoever
    reaches it cannot write through its token. A page of another site whose DNS name points at
    this machine sends that name as Host: refused, so the proxy's token reads nothing for it."""
    _Catalog.seen.clear()
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        answer = requests.request(method, proxy + "/api/v1/lineage", data=b'{"eventType": "START"}', timeout=10)
        assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD", method
        assert "only reads the catalog" in answer.json()["detail"]
    assert _Catalog.seen == []  # nothing reached the catalog
    port = proxy.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"LINEAGE.example:{port}", f"[::1]:{port}"):
        assert requests.get(proxy + "/api/v1/namespaces", headers={"Host": host}, timeout=10).status_code == 200, host
    for host in (
        f"attacker.example:{port}",
        "localhost",
        f"localhost:{int(port) + 1}",
        f"127.0.0.1.attacker.example:{port}",
        "",
    ):
        answer = requests.get(proxy + "/api/v1/namespaces", headers={"Host": host}, timeout=10)
        assert answer.status_code == 421 and "--allowed-host" in answer.json()["detail"], host
    assert _Catalog.seen == ["/ol-catalog/api/v1/namespaces"] * 3
