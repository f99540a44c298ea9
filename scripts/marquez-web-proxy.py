#!/usr/bin/env python3
"""Serve Marquez's web UI on the catalog: its built files, and its API calls sent to the catalog.

Marquez's web UI asks for /api/v1/... on its own origin; this server answers them from the
catalog's /ol-catalog/api/v1/... with a catalog token that may read (created with --read), so the
browser needs no Airflow login. Everything else is a file of the UI's build, or its index.html
(the UI routes its pages itself).

    airflow ol-catalog tokens create --name marquez-web --read      # the token is the last line
    OL_CATALOG_TOKEN=olc_... python scripts/marquez-web-proxy.py \\
        --web marquez/web/dist --catalog http://localhost:8080/ --port 3000

Standard library only. It binds to 127.0.0.1 unless told otherwise: whoever reaches it reads the
catalog with the token. It only reads: every token may send events, so anything but GET and HEAD
is refused here (405), never passed on. It answers only requests naming it in their Host header
(localhost, 127.0.0.1, [::1], --host, or a name given with --allowed-host), so that a web page
of another site cannot reach it through a DNS name of its own pointing at this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import mimetypes
import os
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Request headers passed on to the catalog (no cookies: the token is the only credential).
FORWARDED = ("Accept", "Accept-Encoding", "Content-Type", "If-None-Match")
# Answer headers passed back to the browser.
RETURNED = ("Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Retry-After")


class MarquezWebProxy(BaseHTTPRequestHandler):
    web: Path
    catalog: str  # ends with /ol-catalog
    token: str
    hosts: frozenset[str]  # what the Host header may name, lower case, without the port
    port: int
    timeout: float = 60

    def do_GET(self) -> None:
        if not self._host_allowed():
            message = "this proxy answers only requests to its own host names (--allowed-host adds one)"
            self._answer(421, f'{{"detail": "{message}"}}'.encode(), "application/json")
        elif self.path.startswith("/api/"):
            self._forward()
        else:
            self._file()

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self.close_connection = True  # the body is not read
        body = b'{"detail": "this proxy only reads the catalog: it passes on GET and HEAD alone"}'
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    def _host_allowed(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name, port = host, "80"  # no port given: the scheme's default
        if host.rfind(":") > host.rfind("]"):  # a port after the name (an IPv6 address is in brackets)
            name, port = host.rsplit(":", 1)
        return name in self.hosts and port == str(self.port)

    def _forward(self) -> None:
        """The same method, path and query on the catalog (the path as sent: encoded slashes stay encoded)."""
        if not self.path.startswith("/api/v1/"):
            self._answer(404, b'{"detail": "the catalog answers Marquez\'s /api/v1 only"}', "application/json")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(self.catalog + self.path, data=body, method=self.command)
        for name in FORWARDED:
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                self._relay(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as refused:
            self._relay(refused.code, refused.headers, refused.read())
        except (urllib.error.URLError, TimeoutError) as exc:
            self._answer(502, f'{{"detail": "catalog unreachable: {exc}"}}'.encode(), "application/json")

    def _relay(self, status: int, headers, body: bytes) -> None:
        self.send_response(status)
        for name in RETURNED:
            if headers.get(name):
                self.send_header(name, headers[name])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _file(self) -> None:
        relative = self.path.split("?", 1)[0].lstrip("/")
        path = (self.web / relative).resolve()
        if not relative or not path.is_file() or self.web not in path.parents:
            path = self.web / "index.html"  # a page of the UI (/lineage/job/..., /datasets, ...)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._answer(200, path.read_bytes(), kind)

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web", required=True, type=Path, help="Marquez's built web UI (web/dist after npm run build)")
    parser.add_argument("--catalog", default="http://localhost:8080/", help="the Airflow API server with the catalog")
    parser.add_argument("--token", default=os.environ.get("OL_CATALOG_TOKEN"), help="default: $OL_CATALOG_TOKEN")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the browser reaches it by, besides localhost, 127.0.0.1, [::1] and --host (repeatable)",
    )
    args = parser.parse_args()
    if not args.token:
        parser.error("a catalog token that may read is needed: --token or OL_CATALOG_TOKEN")
    web = args.web.resolve()
    if not (web / "index.html").is_file():
        parser.error(f"{web} holds no index.html: build Marquez's web UI first (npm ci && npm run build in web/)")
    MarquezWebProxy.web = web
    MarquezWebProxy.catalog = args.catalog.rstrip("/") + "/ol-catalog"
    MarquezWebProxy.token = args.token
    own = {"localhost", "127.0.0.1", "[::1]", args.host, *args.allowed_host}
    MarquezWebProxy.hosts = frozenset(
        f"[{h.lower()}]" if ":" in h and not h.startswith("[") else h.lower() for h in own
    )
    MarquezWebProxy.port = args.port
    server = ThreadingHTTPServer((args.host, args.port), MarquezWebProxy)
    print(f"Marquez's web UI on the catalog: http://{args.host}:{args.port}/", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C stops it
        server.serve_forever()


if __name__ == "__main__":
    main()
