"""The routing transport's configuration: one documented schema, checked when the transport starts.

Every problem is reported with the path of the setting (`routes[2].match.event_type`), so a
typo in `openlineage.yml` or `[openlineage] transport` is found at start-up, not by a lost event.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from airflow_ol_catalog.events.run_states import EventType

log = logging.getLogger(__name__)

MATCH_KEYS = (
    "job_namespace",
    "job_name",
    "integration",
    "job_type",
    "processing_type",
    "event_type",
    "dataset_namespace",
    "producer",
)
# What a rule may match on: a RunEvent's eventType, or the kind of the other two events.
EVENT_TYPES = (*(t.value for t in EventType), "DATASET", "JOB")
DEFAULT_TIMEOUT = 2.0
MAX_TIMEOUT = 3600.0  # seconds: beyond it a bound is a typo (1e308 overflowed the waits)
MAX_SPOOLED_NAME_BYTES = 200
DEFAULT_SPOOL_BYTES = 100 * 1024 * 1024
CATALOG_ENDPOINT = "ol-catalog/api/v1/lineage"
# What a `type: catalog` destination takes.
CATALOG_KEYS = frozenset({"type", "url", "conn_id", "api_key", "endpoint", "timeout", "rewrite"})


class RoutingConfigError(ValueError):
    """The routing configuration is invalid; the message lists every problem with its path."""


@dataclass(frozen=True)
class Rewrite:
    job_namespace: dict[str, str] = field(default_factory=dict)  # glob of the old namespace -> new namespace
    drop_facets: tuple[str, ...] = ()
    event_types: tuple[str, ...] | None = None  # None: every type

    @property
    def changes_events(self) -> bool:
        return bool(self.job_namespace or self.drop_facets)


@dataclass(frozen=True)
class Destination:
    name: str
    transport: dict[str, Any]  # an openlineage-python transport config (after the catalog shorthand)
    timeout: float | None
    rewrite: Rewrite
    catalog_conn_id: str | None = None  # the catalog shorthand: the token is this Connection's password


@dataclass(frozen=True)
class Rule:
    index: int
    match: dict[str, tuple[str, ...]]
    to: tuple[str, ...]
    proceed: bool  # `continue: true`: later rules may add destinations


@dataclass(frozen=True)
class SpoolSettings:
    directory: str | None  # None: no spool (failed events are logged and counted, then dropped)
    max_bytes: int = DEFAULT_SPOOL_BYTES
    redeliver_per_emit: int = 10


@dataclass(frozen=True)
class RoutingSettings:
    destinations: dict[str, Destination]
    rules: tuple[Rule, ...]
    default: tuple[str, ...]
    timeout: float
    spool: SpoolSettings


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.found.append(f"{path}: {message}")

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            self.add(path, "expected a non-empty string or a list of them")
            return ()
        return tuple(values)

    def number(self, value: Any, path: str, default: float | None) -> float | None:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT:
            self.add(path, f"expected a positive number of seconds up to {MAX_TIMEOUT:g}, got {value!r}")
            return default
        return float(value)

    def url(self, value: Any, path: str) -> None:
        """An http(s) URL with a host: what requests can send to."""
        try:
            parts = urlsplit(value) if isinstance(value, str) else None
            if parts is not None:
                _ = parts.port  # a port that is no number raises here
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            self.add(path, f"expected an http:// or https:// URL with a host, got {value!r}")
            return
        try:  # what requests makes of it when sending: a host it cannot parse fails every send
            requests.models.PreparedRequest().prepare_url(value, None)
        except requests.RequestException as error:
            self.add(path, f"not a URL requests can send to ({error}), got {value!r}")


def _rewrite(raw: Any, path: str, problems: _Problems) -> Rewrite:
    if raw is None:
        return Rewrite()
    if not isinstance(raw, dict):
        problems.add(path, "expected an object with job_namespace, drop_facets or event_types")
        return Rewrite()
    for key in raw.keys() - {"job_namespace", "drop_facets", "event_types"}:
        problems.add(f"{path}.{key}", "unknown rewrite; use job_namespace, drop_facets or event_types")
    mapping = raw.get("job_namespace", {})
    if isinstance(mapping, str):
        mapping = {"*": mapping}
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items()
    ):
        problems.add(f"{path}.job_namespace", "expected a new namespace, or an object of old (glob) -> new namespace")
        mapping = {}
    drop = problems.strings(raw["drop_facets"], f"{path}.drop_facets") if "drop_facets" in raw else ()
    types = None
    if "event_types" in raw:
        types = tuple(t.upper() for t in problems.strings(raw["event_types"], f"{path}.event_types"))
        for t in types:
            if t not in EVENT_TYPES:
                problems.add(f"{path}.event_types", f"{t!r} is not one of {', '.join(EVENT_TYPES)}")
    return Rewrite(dict(mapping), drop, types)


def _destination(name: str, raw: Any, problems: _Problems) -> Destination | None:
    path = f"destinations.{name}"
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        problems.add(
            path,
            "expected an OpenLineage transport config with a `type` (http, kafka, file, console, ...) or `type: catalog`",
        )
        return None
    transport = {k: v for k, v in raw.items() if k not in ("timeout", "rewrite", "conn_id")}  # the routing's own
    if raw["type"] != "catalog":
        _check_transport(transport, path, problems)
    conn_id = None
    if raw["type"] == "catalog":
        for key in sorted(raw.keys() - CATALOG_KEYS):  # a misspelt conn_id would quietly use the default
            problems.add(
                f"{path}.{key}", f"unknown for a catalog destination; it takes {', '.join(sorted(CATALOG_KEYS))}"
            )
        conn_id = raw.get("conn_id", "ol_catalog_default") if "api_key" not in raw else None
        url = raw.get("url") or _airflow_base_url()
        if not url:
            problems.add(f"{path}.url", "no url, and Airflow's [api] base_url is not set")
        else:
            problems.url(url, f"{path}.url")
            if isinstance(url, str) and ("?" in url or "#" in url):  # the endpoint would go after them
                problems.add(f"{path}.url", f"Airflow's address takes no query or fragment, got {url!r}")
            if isinstance(url, str) and not url.endswith("/"):
                url += "/"  # Airflow's address: the catalog's endpoint is below it, not beside its last part
        transport = {
            "type": "http",
            "url": url,
            "endpoint": raw.get("endpoint", CATALOG_ENDPOINT),
            "compression": "gzip",
        }
        if "api_key" in raw:
            transport["auth"] = {"type": "api_key", "apiKey": raw["api_key"]}
    elif "conn_id" in raw:
        problems.add(f"{path}.conn_id", "only `type: catalog` destinations take a conn_id")
    return Destination(
        name,
        transport,
        problems.number(raw.get("timeout"), f"{path}.timeout", None),
        _rewrite(raw.get("rewrite"), f"{path}.rewrite", problems),
        conn_id,
    )


def _check_transport(raw: dict[str, Any], path: str, problems: _Problems) -> None:
    """What openlineage-python would only find when the first event is sent: a transport class path
    that does not import, an http destination without a url or with one it cannot send to, a
    registered transport's config missing what it needs. A short type it does not register is only
    warned of: a module imported later may register it."""
    from openlineage.client.transport import get_default_factory
    from openlineage.client.utils import import_from_string

    kind = raw["type"]
    registered = get_default_factory().transports.get(kind)
    if registered is not None and kind not in ("http", "async_http"):  # (those: below, the auth not built)
        # Its own config: a setting it needs and was not given (a file destination's log_file_path,
        # kafka's config and topic) failed every send.
        try:
            transport = import_from_string(registered) if isinstance(registered, str) else registered
            transport.config_class.from_dict(raw)
        except Exception as exc:
            problems.add(path, f"not a config a {kind} transport takes: {exc}")
    if kind not in get_default_factory().transports:
        known = ", ".join(sorted(get_default_factory().transports))
        if "." not in kind:  # a module imported later may still register it (`register_transport`)
            log.warning("%s.type: %r is no transport registered yet (%s); a class path names one", path, kind, known)
            return
        try:
            import_from_string(kind)
        except Exception as exc:
            problems.add(
                f"{path}.type", f"{kind!r} cannot be imported ({exc}): use one of catalog, {known}, or a class path"
            )
    if kind in ("http", "async_http"):
        if not (isinstance(raw.get("url"), str) and raw["url"].strip()):
            problems.add(f"{path}.url", "an http destination needs a url")
        else:
            problems.url(raw["url"], f"{path}.url")
        if raw.get("compression") not in (None, "gzip"):
            problems.add(f"{path}.compression", f"expected gzip (or none), got {raw['compression']!r}")
    _check_auth(raw.get("auth"), f"{path}.auth", problems)


# The auth types openlineage-python and Airflow's OpenLineage provider know; any other is a class path.
AUTH_TYPES = ("api_key", "jwt", "oauth2", "airflow_connection_api_key")


def _check_auth(auth: Any, path: str, problems: _Problems) -> None:
    if auth is None:
        return
    if not isinstance(auth, dict):
        problems.add(path, "expected an object with a type (api_key, ...)")
        return
    kind = auth.get("type")
    if kind is None or kind in AUTH_TYPES:
        return
    from openlineage.client.utils import import_from_string

    try:
        if not isinstance(kind, str) or "." not in kind:
            raise ImportError("not a class path")
        import_from_string(kind)
    except Exception as exc:
        problems.add(f"{path}.type", f"{kind!r} is no auth type ({exc}): use {', '.join(AUTH_TYPES)} or a class path")


def _airflow_base_url() -> str | None:
    try:
        from airflow.configuration import conf

        url = conf.get("api", "base_url", fallback=None)
    except Exception:
        return None
    return url.rstrip("/") + "/" if url else None


def _rule(index: int, raw: Any, destinations: dict, problems: _Problems) -> Rule | None:
    path = f"routes[{index}]"
    if not isinstance(raw, dict):
        problems.add(path, "expected an object with `match` and `to`")
        return None
    for key in raw.keys() - {"match", "to", "continue"}:
        problems.add(f"{path}.{key}", "unknown key; a route has match, to and continue")
    match = raw.get("match", {})
    if not isinstance(match, dict):
        problems.add(f"{path}.match", f"expected an object with any of {', '.join(MATCH_KEYS)}")
        match = {}
    criteria = {}
    for key, value in match.items():
        if key not in MATCH_KEYS:
            problems.add(f"{path}.match.{key}", f"unknown criterion; use {', '.join(MATCH_KEYS)}")
        else:
            criteria[key] = problems.strings(value, f"{path}.match.{key}")
    to = problems.strings(raw.get("to"), f"{path}.to") if "to" in raw else ()
    if "to" not in raw:
        problems.add(f"{path}.to", "is required: the destinations this route sends to")
    for name in to:
        if name not in destinations:
            problems.add(f"{path}.to", f"no destination named {name!r}")
    if not isinstance(raw.get("continue", False), bool):
        problems.add(f"{path}.continue", "expected true or false")
    return Rule(index, criteria, to, raw.get("continue") is True)


def parse_settings(raw: dict[str, Any]) -> RoutingSettings:
    """Check a routing config (the transport config minus `type`); raise RoutingConfigError listing every problem."""
    problems = _Problems()
    known = {"type", "name", "priority", "destinations", "routes", "default", "timeout", "spool"}
    for key in raw.keys() - known:
        problems.add(key, f"unknown setting; use {', '.join(sorted(known - {'type', 'name', 'priority'}))}")
    raw_destinations = raw.get("destinations")
    destinations: dict[str, Destination] = {}
    if not isinstance(raw_destinations, dict) or not raw_destinations:
        problems.add("destinations", "expected an object of name -> transport config, with at least one")
    else:
        for name, value in raw_destinations.items():
            found = _destination(str(name), value, problems)
            if found is not None:
                destinations[str(name)] = found
    raw_routes = raw.get("routes", [])
    if not isinstance(raw_routes, list):
        problems.add("routes", "expected a list of routes")
        raw_routes = []
    rules = tuple(
        r
        for r in (_rule(i, value, raw_destinations or {}, problems) for i, value in enumerate(raw_routes))
        if r is not None
    )
    default = (
        problems.strings(raw["default"], "default")
        if "default" in raw
        else tuple(destinations)
        if not raw_routes
        else ()
    )
    for name in default:
        if name not in (raw_destinations or {}):
            problems.add("default", f"no destination named {name!r}")
    spool_raw = raw.get("spool", {})
    spool = SpoolSettings(None)
    if not isinstance(spool_raw, dict):
        problems.add("spool", "expected an object with dir, max_bytes and redeliver_per_emit")
    else:
        for key in spool_raw.keys() - {"dir", "max_bytes", "redeliver_per_emit"}:
            problems.add(f"spool.{key}", "unknown setting; use dir, max_bytes, redeliver_per_emit")
        max_bytes = spool_raw.get("max_bytes", DEFAULT_SPOOL_BYTES)
        per_emit = spool_raw.get("redeliver_per_emit", 10)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1024:
            problems.add("spool.max_bytes", f"expected a number of bytes of at least 1024, got {max_bytes!r}")
        if not isinstance(per_emit, int) or isinstance(per_emit, bool) or per_emit < 0:
            problems.add("spool.redeliver_per_emit", f"expected a count of at least 0, got {per_emit!r}")
        directory = spool_raw.get("dir")
        if directory is not None and not (isinstance(directory, str) and directory.strip()):
            problems.add("spool.dir", "expected a directory path")
        elif isinstance(directory, str) and not os.path.isabs(directory):
            # each process would resolve it against its own working directory: the tasks' spool
            # would not be the one the CLI and the replay DAG read
            problems.add("spool.dir", f"expected an absolute path, got {directory!r}")
        elif isinstance(directory, str) and os.path.exists(directory) and not os.path.isdir(directory):
            problems.add("spool.dir", f"{directory} exists and is not a directory")
        if isinstance(directory, str):  # each destination's spool files are named after it, in spool.dir
            for name in destinations:
                if name in (".", "..") or any(c in name for c in "/\\\x00"):
                    problems.add(f"destinations.{name}", "with a spool, a name must not be . or .. or hold / \\ or NUL")
                elif len(name.encode()) > MAX_SPOOLED_NAME_BYTES:  # a file name holds 255 bytes, suffixes included
                    problems.add(
                        f"destinations.{name[:40]}...",
                        f"with a spool, a name must be at most {MAX_SPOOLED_NAME_BYTES} bytes (its spool's file names hold it)",
                    )
        spool = SpoolSettings(
            directory if isinstance(directory, str) else None,
            max_bytes if isinstance(max_bytes, int) else DEFAULT_SPOOL_BYTES,
            per_emit if isinstance(per_emit, int) else 10,
        )
    timeout = problems.number(raw.get("timeout"), "timeout", DEFAULT_TIMEOUT)
    if problems.found:
        raise RoutingConfigError("invalid routing transport config:\n  " + "\n  ".join(problems.found))
    return RoutingSettings(destinations, rules, default, timeout or DEFAULT_TIMEOUT, spool)
