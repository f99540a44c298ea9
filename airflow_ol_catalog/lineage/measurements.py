"""A dataset's measurements over time, as the runs that read and wrote it sent them: rows, bytes
and files written (`outputStatistics`) and read (`inputStatistics`), data-quality metrics
(`dataQualityMetrics`, column metrics included), and the part of the dataset each run touched
(`subset`: partitions, locations, a condition).

They come from the raw events of the dataset's newest runs (ol_catalog_run_dataset names them):
a facet that broke its published schema is left out, as everywhere the catalog shows a facet
whole, but for data-quality metrics, read by part as the dataset's quality view reads them. One
point per event that measured the dataset, oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, select

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.facet_checks import facet_problems
from airflow_ol_catalog.events.facet_registry import facets_at
from airflow_ol_catalog.events.naming import namespace_key
from airflow_ol_catalog.events.not_found import DatasetNotFound
from airflow_ol_catalog.events.quality import METRICS, read_metrics
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.catalog import find_dataset
from airflow_ol_catalog.store.tables import dataset, event, job, run, run_dataset

_SIDES = (("in", "inputs", "input"), ("out", "outputs", "output"))
_TOTALS = ("rowCount", "bytes", "fileCount")
EVENTS_PER_RUN = 20  # events read per run asked for, newest first: a streaming run sends thousands


def _sent(value: Any) -> Any:
    """The facet, unless it is missing or says it was deleted."""
    return None if isinstance(value, dict) and value.get("_deleted") is True else value


def _usable(place: str, name: str, value: Any) -> Any:
    """The facet when it keeps to its schema, else None."""
    spec = facets_at(place).get(name)
    if _sent(value) is None or spec is None:
        return None
    return None if facet_problems(spec.schema, value, "") else value


def _datasets(payload: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each input and output of a stored event that names a namespace: (side, place, the item)."""
    event_body = json.loads(payload)
    for side, key, place in _SIDES:
        listed = event_body.get(key)
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and isinstance(item.get("namespace"), str):
                yield side, place, item


def _point(side: str, place: str, item: dict[str, Any]) -> dict[str, Any] | None:
    sent_own, sent = item.get(f"{place}Facets"), item.get("facets")
    own: dict[str, Any] = sent_own if isinstance(sent_own, dict) else {}
    facets: dict[str, Any] = sent if isinstance(sent, dict) else {}
    # the spec puts statistics among an input's or output's own facets; some producers send them
    # among the dataset's facets (the shared corpus's Spark events do): read either
    named = f"{place}Statistics"
    statistics = reading.statistics(_usable(place, named, own.get(named, facets.get(named))))
    metrics_facet = own.get(METRICS) if side == "in" and METRICS in own else facets.get(METRICS)
    # read by part, as the dataset's quality view reads it: a part of the wrong shape is left out
    metrics = read_metrics(_sent(metrics_facet))
    if metrics is not None and not metrics["columnMetrics"] and all(metrics[k] is None for k in _TOTALS):
        metrics = None  # nothing of it could be read
    part = reading.subset(_usable(place, "subset", own.get("subset")), side)
    if statistics is None and metrics is None and part is None:
        return None

    def total(key: str) -> Any:
        """The statistics facet's figure, else the metrics facet's."""
        found = (statistics or {}).get(key)
        return found if found is not None or metrics is None else metrics[key]

    return {
        "side": side,
        "rowCount": total("rowCount"),
        "bytes": total("bytes"),
        "fileCount": total("fileCount"),
        "columnMetrics": metrics["columnMetrics"] if metrics else {},
        "subset": part,
    }


# What a token may describe: (the connection, token ids) -> each limited token's scope, with an
# `allows_dataset(namespace)` (ingest/scope.py; the API layer passes ingest/tokens.token_scopes).
ScopesOf = Callable[[Connection, set[int]], Mapping[int, Any]]


def measurements(conn: Connection, ns: str, name: str, runs: int, scopes_of: ScopesOf) -> dict[str, Any]:
    """The points of the dataset's newest `runs` runs, oldest first."""
    found = find_dataset(conn, ns, name)
    if found is None:
        raise DatasetNotFound(ns, name)
    names = {(found.namespace_key, found.name)} | {  # any spelling of the namespace, and every alias
        (r.namespace_key, r.name)
        for r in conn.execute(select(dataset.c.namespace_key, dataset.c.name).where(dataset.c.alias_of == found.id))
    }
    newest = conn.execute(
        select(run.c.run_id, run.c.last_event_at, job.c.namespace, job.c.name)
        .join(run, run.c.id == run_dataset.c.run_pk)
        .join(job, job.c.id == run.c.job_id)
        .where(run_dataset.c.dataset_id == found.id, run.c.placeholder.is_(False), job.c.deleted_at.is_(None))
        .distinct()
        .order_by(run.c.last_event_at.desc().nulls_last(), run.c.run_id)
        .limit(runs + 1)
    ).all()
    owners: dict[str, set[tuple[str, str]]] = {}
    for r in newest[:runs]:
        owners.setdefault(r.run_id, set()).add((r.namespace, r.name))
    points = []
    rows = conn.execute(
        select(
            event.c.payload, event.c.event_time, event.c.run_id, event.c.namespace, event.c.job_name, event.c.token_id
        )
        .where(event.c.run_id.in_(list(owners)), event.c.quarantined.is_(False))
        .order_by(event.c.event_time.desc(), event.c.id.desc())
        .limit(runs * EVENTS_PER_RUN + 1)
    ).all()
    events_cut = len(rows) > runs * EVENTS_PER_RUN
    # A token limited to namespaces may not say what a dataset outside them is (ingest/scope.py):
    # its statistics and metrics of such a dataset are not its measurements.
    scopes = scopes_of(conn, {e.token_id for e in rows if e.token_id is not None})
    for e in rows[: runs * EVENTS_PER_RUN]:
        if (e.namespace, e.job_name) not in owners.get(e.run_id, ()):
            continue
        scope = scopes.get(e.token_id) if e.token_id is not None else None
        for side, place, item in _datasets(e.payload):
            if (namespace_key(item["namespace"]), item.get("name")) not in names:
                continue
            if scope is not None and not scope.allows_dataset(item["namespace"]):
                continue
            point = _point(side, place, item)
            if point is not None:
                sender = {"eventTime": iso(e.event_time), "runId": e.run_id}
                points.append(sender | {"job": {"namespace": e.namespace, "name": e.job_name}} | point)
    points.sort(key=lambda p: (p["eventTime"], p["runId"], p["side"]))
    return {"points": points, "runs": len(owners), "truncated": len(newest) > runs or events_cut}


def run_measurements(conn: Connection, run_id: str, ns: str, name: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What the newest events of job `ns`/`name`'s run said of each dataset it read or wrote, by (side,
    namespace, name): the newest event's statistics of it win (a streaming run's last checkpoint, a
    batch's COMPLETE)."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in conn.execute(
        select(event.c.payload)
        .where(
            event.c.run_id == run_id,
            event.c.namespace == ns,
            event.c.job_name == name,
            event.c.quarantined.is_(False),
        )
        .order_by(event.c.event_time.desc(), event.c.id.desc())
        .limit(EVENTS_PER_RUN)
    ):
        for side, place, item in _datasets(e.payload):
            at = (side, item["namespace"], str(item.get("name")))
            point = _point(side, place, item) if at not in found else None
            if point is not None:
                found[at] = {k: point[k] for k in _TOTALS}
    return found
