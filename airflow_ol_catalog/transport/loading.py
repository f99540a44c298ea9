"""Finding the routing transport's config where the OpenLineage provider keeps it (for the CLI and DAGs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRANSPORT_CLASS = "airflow_ol_catalog.transport.RoutingTransport"


def _transport_of(document: Any, where: str) -> dict[str, Any]:
    transport = document.get("transport", document) if isinstance(document, dict) else None
    if not isinstance(transport, dict):
        raise ValueError(f"{where}: expected an object (or one with a `transport` key)")
    if transport.get("type") not in (TRANSPORT_CLASS, "airflow_ol_catalog.transport.routing.RoutingTransport"):
        raise ValueError(f"{where}: the transport type is {transport.get('type')!r}, not {TRANSPORT_CLASS}")
    return transport


def _read_yaml(path: str) -> Any:
    """A YAML (or JSON) file's document; ValueError saying where it is not YAML."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None


def load_routing_config(path: str | None = None) -> dict[str, Any]:
    """The routing config from a file (YAML or JSON), else where Airflow's OpenLineage provider reads
    its config, in its order: the Connection `[openlineage] config_conn_id` (its extra), the file
    `config_path`, then `transport`. The first one set is the one the tasks' events go through, so
    the spool the CLI and the replay DAG read is theirs."""
    if path:
        return _transport_of(_read_yaml(path), path)
    from airflow.configuration import conf

    conn_id = (conf.get("openlineage", "config_conn_id", fallback="") or "").strip()
    if conn_id:
        from airflow_ol_catalog.transport.routing import airflow_connection

        where = f"Connection {conn_id} ([openlineage] config_conn_id)"
        return _transport_of(airflow_connection(conn_id).extra_dejson, where)
    config_path = conf.get("openlineage", "config_path", fallback="") or ""
    if config_path.strip():
        return _transport_of(_read_yaml(config_path), config_path)
    inline = conf.get("openlineage", "transport", fallback="") or ""
    if inline.strip():
        return _transport_of(json.loads(inline), "[openlineage] transport")
    raise ValueError(
        "no routing transport configured: set [openlineage] config_conn_id, config_path or transport, or pass --config"
    )


def build_transport(path: str | None = None):
    from airflow_ol_catalog.transport.routing import RoutingConfig, RoutingTransport

    return RoutingTransport(RoutingConfig.from_dict(load_routing_config(path)))
