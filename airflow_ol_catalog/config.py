"""Typed access to the [ol_catalog] configuration section."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_ol_catalog.provider import SECTION

NAMESPACE_POLICIES = ("register", "quarantine", "reject")


@dataclass(frozen=True)
class CatalogSettings:
    sql_alchemy_conn: str
    unknown_namespace_policy: str
    max_body_bytes: int
    max_batch_events: int
    max_json_depth: int
    max_future_seconds: int
    max_graph_nodes: int
    view_cache_size: int
    view_cache_check: bool
    view_prebuild: bool
    gc_freeze: bool
    prepared_statements: bool


def load_settings() -> CatalogSettings:
    from airflow.configuration import conf

    policy = conf.get(SECTION, "unknown_namespace_policy").strip().lower()
    if policy not in NAMESPACE_POLICIES:
        raise ValueError(
            f"[{SECTION}] unknown_namespace_policy = {policy!r}: expected one of {', '.join(NAMESPACE_POLICIES)}"
        )
    return CatalogSettings(
        sql_alchemy_conn=conf.get(SECTION, "sql_alchemy_conn").strip(),
        unknown_namespace_policy=policy,
        max_body_bytes=conf.getint(SECTION, "max_body_bytes"),
        max_batch_events=conf.getint(SECTION, "max_batch_events"),
        max_json_depth=conf.getint(SECTION, "max_json_depth"),
        max_future_seconds=conf.getint(SECTION, "max_future_seconds"),
        max_graph_nodes=conf.getint(SECTION, "max_graph_nodes"),
        view_cache_size=max(0, conf.getint(SECTION, "view_cache_size")),
        view_cache_check=conf.getboolean(SECTION, "view_cache_check"),
        view_prebuild=conf.getboolean(SECTION, "view_prebuild"),
        gc_freeze=conf.getboolean(SECTION, "gc_freeze"),
        prepared_statements=conf.getboolean(SECTION, "prepared_statements"),
    )
