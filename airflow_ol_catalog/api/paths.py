"""Paths as sent: names with slashes, UTF-8 only, and no NUL anywhere in a path or query; the request guard.

Namespaces and names hold slashes (`s3://lake`, `datasets/orders`); clients send them encoded
(`s3%3A%2F%2Flake`, `datasets%2Forders`). The server decodes escapes before routing, which would
split such a name into path segments and route `.../datasets/raw%2Fversions` to the versions of
`raw`. So the catalog routes on the raw path with every escape decoded except `%2F` and `%25`,
which stay escaped inside a segment until the route's `name` convertor reads the parameter.

NUL is in no name the catalog holds (identifiers refuse it) and PostgreSQL text cannot hold it,
so a path or query parameter with one is refused here, once for every route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote, unquote_to_bytes

from starlette.convertors import Convertor, register_url_convertor

from airflow_ol_catalog.api.csrf import FORGERY_HEADERS, SAFE_METHODS, forgery_refusal

_KEPT_ESCAPE = re.compile(r"%(?:2[fF]|25)")
_ESCAPED = re.compile(r"%2F|%25")


def routing_path(raw_path: bytes) -> str:
    """The raw path with every percent-escape decoded except those of `/` and `%` (kept as %2F, %25)."""
    text = raw_path.decode("utf-8", "replace")
    pieces = _KEPT_ESCAPE.split(text)
    kept = [escape.upper() for escape in _KEPT_ESCAPE.findall(text)] + [""]
    return "".join(unquote(piece) + escape for piece, escape in zip(pieces, kept, strict=False))


def _decoded(value: str) -> str:
    return _ESCAPED.sub(lambda m: "/" if m.group() == "%2F" else "%", value)


class NameConvertor(Convertor):
    """A namespace, name, run id or version: one path segment, as Marquez reads it. A slash in it is
    sent escaped (%2F), so `.../jobs/etl/versions` is the versions of `etl`, never a job named
    `etl/versions`."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return _decoded(value)

    def to_string(self, value: str) -> str:
        return value.replace("%", "%25").replace("/", "%2F")


class UnescapedNameConvertor(NameConvertor):
    """The rest of the path as one name, slashes included: for the one route that Marquez's Python
    client fills in without escaping (`/events/{namespace}`), and which has nothing after it."""

    regex = ".+"


register_url_convertor("name", NameConvertor())
register_url_convertor("unescaped_name", UnescapedNameConvertor())


def _nul_problem(path: str, query_string: bytes) -> str | None:
    if "\x00" in path:
        return "path: contains a NUL character (%00); no namespace or name in the catalog holds one"
    if b"%00" in query_string or b"\x00" in query_string:
        for key, value in parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True):
            if "\x00" in key or "\x00" in value:
                return f"query parameter {key.replace(chr(0), '%00')[:64]}: contains a NUL character (%00), which no value the catalog reads may hold"
    return None


def _utf8_problem(raw_path: bytes, query_string: bytes) -> str | None:
    """Percent-escapes that decode to no UTF-8 text (`%FF`, an encoded surrogate `%ED%A0%80`): the
    server would read them as U+FFFD, so that different paths named the same object."""
    if b"%" in raw_path:
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            return "path: its percent-escapes are not UTF-8 (names are UTF-8 text, percent-encoded byte by byte)"
    if b"%" in query_string:
        for piece in query_string.split(b"&"):
            key, _, value = piece.partition(b"=")
            for part in (key, value):
                try:
                    unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
                except UnicodeDecodeError:
                    shown = key.decode("ascii", "replace")[:64]
                    return f"query parameter {shown}: its percent-escapes are not UTF-8"
    return None


class RequestGuard:
    """ASGI middleware of the catalog's app, before any route: routes on the path as sent, refuses
    NUL in paths and queries (422), and requests forged through the login cookie (403, csrf.py)."""

    def __init__(self, app, on_refusal: Callable[[dict, int, str], None] | None = None) -> None:
        self.app = app
        self.on_refusal = on_refusal  # told of each refusal (the refusal log keeps the ingestion routes')

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope["path"] = _as_sent(scope)
            query = scope.get("query_string", b"")
            problem = _utf8_problem(scope.get("raw_path") or b"", query)
            if problem is not None:
                await self._refuse(scope, send, 400, problem)
                return
            problem = _nul_problem(scope["path"], query)
            if problem is not None:
                await self._refuse(scope, send, 422, problem)
                return
            if scope["method"] not in SAFE_METHODS:
                # ASGI header names are lower case; only these few are read (most requests carry none of the cookie)
                headers: dict[str, str] = {}
                for name, value in scope["headers"]:
                    if name in FORGERY_HEADERS:
                        # several Cookie headers (HTTP/2 sends each cookie apart) are one list of
                        # cookies: a login cookie in any of them counts
                        key, text = name.decode(), value.decode("latin-1")
                        headers[key] = f"{headers[key]}; {text}" if key == "cookie" and key in headers else text
                forged = forgery_refusal(scope["method"], headers)
                if forged is not None:
                    await self._refuse(scope, send, 403, forged)
                    return
        await self.app(scope, receive, send)

    async def _refuse(self, scope, send, status: int, detail: str) -> None:
        if self.on_refusal is not None:
            self.on_refusal(scope, status, detail)
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _as_sent(scope) -> str:
    """The routing path of the raw path; a prefix a proxy stripped from it is taken from the decoded path."""
    full = scope.get(SENT_PATH, scope["path"])
    raw = scope.get("raw_path")
    if not raw or b"%" not in raw:  # nothing was encoded: the decoded path is the path as sent
        return full
    path = routing_path(raw)
    decoded = _decoded(path)
    if not full.endswith(decoded):
        return full
    return full[: len(full) - len(decoded)] + path


# The decoded path as the server received it, when LineBreakPaths had to change scope["path"].
SENT_PATH = "ol_catalog.sent_path"


class LineBreakPaths:
    """Root middleware of Airflow's API server (the plugin installs it): lets a name holding a line
    break (`%0A`, `%0D`) reach the catalog. Airflow mounts the catalog's app under `/ol-catalog/`
    with a pattern whose `.` stops at a line break, so such a path would end in Airflow's 404
    before the catalog saw it. The mount sees the breaks escaped; RequestGuard takes the path as sent."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if ("\n" in path or "\r" in path) and "/ol-catalog/" in path:
                scope = {**scope, "path": path.replace("\n", "%0A").replace("\r", "%0D"), SENT_PATH: path}
        await self.app(scope, receive, send)
