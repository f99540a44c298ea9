"""Typed access to the [ol_catalog] configuration section."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

from airflow_ol_catalog.provider import SECTION

log = logging.getLogger(__name__)

NAMESPACE_POLICIES = ("register", "quarantine", "reject")
# Pydantic writes JSON answers at most 255 levels deep; the read API's answers hold an event's
# facets a few levels deeper than the event does (a lineage graph's node, its latest run, its facets).
MAX_JSON_DEPTH = 200
MAX_FUTURE_SECONDS = 100 * 366 * 86400  # an eventTime at most a century ahead: far from the year 9999


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
    airflow_namespaces: tuple[str, ...]  # where this Airflow's DAGs and tasks are jobs


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)


def load_settings() -> CatalogSettings:
    from airflow.configuration import conf

    policy = conf.get(SECTION, "unknown_namespace_policy").strip().lower()
    if policy not in NAMESPACE_POLICIES:
        raise ValueError(
            f"[{SECTION}] unknown_namespace_policy = {policy!r}: expected one of {', '.join(NAMESPACE_POLICIES)}"
        )
    depth = conf.getint(SECTION, "max_json_depth")
    if depth < 1:
        raise ValueError(f"[{SECTION}] max_json_depth = {depth}: expected 1 to {MAX_JSON_DEPTH}")
    if depth > MAX_JSON_DEPTH:  # the old default was 500: a setting kept from then must not stop Airflow
        _warn_once(
            f"[{SECTION}] max_json_depth = {depth} is more than the read API's answers can hold (JSON answers "
            f"nest at most 255 levels, and hold an event's facets a few levels deeper); {MAX_JSON_DEPTH} is used"
        )
        depth = MAX_JSON_DEPTH
    ahead = conf.getint(SECTION, "max_future_seconds")
    if ahead < 0:
        raise ValueError(f"[{SECTION}] max_future_seconds = {ahead}: expected 0 or more seconds")
    if ahead > MAX_FUTURE_SECONDS:  # the time limit would pass the year 9999, which dates cannot hold
        _warn_once(f"[{SECTION}] max_future_seconds = {ahead} is more than 100 years; {MAX_FUTURE_SECONDS} is used")
        ahead = MAX_FUTURE_SECONDS
    return CatalogSettings(
        sql_alchemy_conn=conf.get(SECTION, "sql_alchemy_conn").strip(),
        unknown_namespace_policy=policy,
        max_body_bytes=conf.getint(SECTION, "max_body_bytes"),
        max_batch_events=conf.getint(SECTION, "max_batch_events"),
        max_json_depth=depth,
        max_future_seconds=ahead,
        max_graph_nodes=conf.getint(SECTION, "max_graph_nodes"),
        view_cache_size=max(0, conf.getint(SECTION, "view_cache_size")),
        view_cache_check=conf.getboolean(SECTION, "view_cache_check"),
        view_prebuild=conf.getboolean(SECTION, "view_prebuild"),
        gc_freeze=conf.getboolean(SECTION, "gc_freeze"),
        prepared_statements=conf.getboolean(SECTION, "prepared_statements"),
        airflow_namespaces=_airflow_namespaces(conf.get(SECTION, "airflow_namespaces", fallback="")),
    )


def _airflow_namespaces(listed: str) -> tuple[str, ...]:
    """The namespaces listed, else the one Airflow's OpenLineage provider gives its jobs: its
    `[openlineage] namespace`, else the OPENLINEAGE_NAMESPACE variable, else `default`."""
    from airflow.configuration import conf

    named = tuple(dict.fromkeys(n.strip() for n in listed.split(",") if n.strip()))
    return named or (
        conf.get("openlineage", "namespace", fallback="") or os.getenv("OPENLINEAGE_NAMESPACE", "default"),
    )
