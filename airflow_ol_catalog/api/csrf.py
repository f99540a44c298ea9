"""Cross-site request forgery: the Airflow login cookie must not let other pages change the catalog.

Browsers add the `_token` cookie to requests that any page of the same site makes (another port
of the host, a sibling subdomain), forms and `no-cors` fetches included, and Airflow sets it
without SameSite or with Lax, which do not separate origins of one site. So a request that
changes something and is signed in by that cookie is taken only when it shows it comes from the
catalog's own pages:

- its `Origin` and `Sec-Fetch-Site`, when the browser sends them, say this server's origin;
- it carries `X-OL-Catalog-Request`, which the catalog's UI sends. A page of another origin can
  add such a header only after a CORS preflight that the catalog never grants; the Origin check
  stands even where an operator opened Airflow's CORS settings.

Requests with an Authorization header (catalog tokens, Airflow JWTs) carry no ambient credential
and are not concerned. Checked once for every request, in the app's request guard (paths.py), so
every route has it, new ones too, before anything else runs.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from starlette.requests import cookie_parser

from airflow_ol_catalog.api.auth import COOKIE

HEADER = "X-OL-Catalog-Request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The request headers the check reads (ASGI names, lower case).
FORGERY_HEADERS = frozenset(
    {b"authorization", b"cookie", b"origin", b"sec-fetch-site", b"host", HEADER.lower().encode()}
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_and_port(netloc: str, scheme: str | None) -> tuple[str, int | None] | None:
    """(host, port) of a `host[:port]`; the port is the scheme's default when left out, None without a scheme."""
    try:
        parts = urlsplit("//" + netloc)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port if port is not None else DEFAULT_PORTS.get(scheme or "")


@cache
def _configured_origin() -> tuple[str, int | None] | None:
    """The origin of `[api] base_url`, where browsers reach the API server behind a proxy."""
    from airflow.configuration import conf

    base_url = conf.get("api", "base_url", fallback="") or ""
    parts = urlsplit(base_url)
    return _host_and_port(parts.netloc, parts.scheme) if parts.scheme and parts.netloc else None


def is_own_origin(origin: str, host_header: str) -> bool:
    """Whether a browser's `Origin` names this server: the Host it was asked for, or `[api] base_url`."""
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False  # "null" (sandboxed pages, cross-origin redirects) and anything odd
    claimed = _host_and_port(parts.netloc, parts.scheme)
    if claimed is None:
        return False
    if claimed == _configured_origin():
        return True
    host = _host_and_port(host_header, None)
    if host is None or host[0] != claimed[0]:
        return False
    if host[1] is not None:
        return claimed[1] == host[1]
    # Behind a proxy that ends TLS the server sees http: a Host without a port stands for the
    # default port of whichever scheme the browser used.
    return claimed[1] == DEFAULT_PORTS[parts.scheme]


def _signed_in_by_cookie(headers: dict[str, str]) -> bool:
    """Whether the credential is the Airflow login cookie, which browsers add on their own: read by
    the parser authentication reads it with (Starlette's, which takes any cookie header). A stricter
    one gave up on a whole header for one cookie it refused (`pref=dark mode`, a JSON value), and the
    login cookie beside it went unchecked."""
    if "authorization" in headers or "_token" not in headers.get("cookie", ""):
        return False
    return bool(cookie_parser(headers["cookie"]).get(COOKIE))


def _problems(headers: dict[str, str]) -> list[str]:
    problems = []
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        problems.append(f"Sec-Fetch-Site {site}: the browser says another page sent it")
    origin = headers.get("origin")
    if origin is not None and not is_own_origin(origin, headers.get("host", "")):
        problems.append(f"Origin {origin} is not this server's")
    if not headers.get(HEADER.lower()):
        problems.append(f"the {HEADER} header the catalog's pages send is missing")
    return problems


def forgery_refusal(method: str, headers: dict[str, str]) -> str | None:
    """Why a state-changing request signed in by the login cookie is refused, or None to let it through."""
    if method in SAFE_METHODS or not _signed_in_by_cookie(headers):
        return None
    problems = _problems(headers)
    if not problems:
        return None
    return (
        "refused: this request changes the catalog and is signed in only by the Airflow login cookie, but it does "
        f"not come from the catalog's own pages ({'; '.join(problems)}). Scripts and producers send "
        "Authorization: Bearer <token> instead of the cookie."
    )
