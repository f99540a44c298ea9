"""The read API under /api/v1, in Marquez's shapes so Marquez clients work unchanged.

Auth: reads take a catalog token with read access, or an Airflow login allowed to read assets;
hiding and restoring an Airflow login allowed to delete assets, never a token.
Namespaces and names may hold slashes (`postgres://host:5432`, sent encoded as %2F), read from the path as
sent (api/paths.py); routes are declared most specific first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Query, Request

from airflow_ol_catalog import metrics
from airflow_ol_catalog.api.auth import CuratorAuth, Principal, ReadAuth, connection_details_withheld
from airflow_ol_catalog.api.datamodels.catalog_extras import CatalogStats, DataSources, Impact
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.schemas import Limit, Offset, time_parameter
from airflow_ol_catalog.ingest.hiding import NothingToHide, set_dataset_hidden, set_job_hidden, set_namespace_hidden
from airflow_ol_catalog.ingest.namespaces import NamespaceNotFound, get_namespace, list_namespaces
from airflow_ol_catalog.lineage import catalog
from airflow_ol_catalog.lineage.columns import column_lineage_graph
from airflow_ol_catalog.lineage.graph import NodeNotFound, lineage
from airflow_ol_catalog.lineage.impact import impact
from airflow_ol_catalog.lineage.source_matches import match_without_connections
from airflow_ol_catalog.store.engine import read_connection, write_transaction

router = APIRouter(prefix="/api/v1", tags=["catalog"])

# A node id is a kind, a namespace, a name and maybe a field, each at most 1,024 bytes; one
# longer names nothing, and each of its colons would cost a look-up.
MAX_NODE_ID = 4200


async def _read(work: Callable[..., Any], *args) -> Any:
    def run():
        with read_connection() as conn:
            return work(conn, *args)

    return await anyio.to_thread.run_sync(run)


def _found(value, what: str):
    if value is None:
        raise HTTPException(404, f"{what} not found")
    return value


def _namespaces(conn, limit, offset):
    items, total = list_namespaces(conn, limit, offset)
    return {"namespaces": [catalog.namespace_view(ns) for ns in items], "totalCount": total}


@router.get("/namespaces", summary="List namespaces")
async def namespaces(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    return await _read(_namespaces, limit, offset)


def _hide(setter: Callable, *args) -> dict:
    def work(conn):
        try:
            setter(conn, *args)
        except NothingToHide as exc:
            raise HTTPException(404, str(exc)) from None
        return {"hidden": args[-1]}

    with write_transaction() as conn:
        return work(conn)


@router.delete("/namespaces/{namespace:name}/datasets/{dataset:name}", summary="Hide a dataset")
async def delete_dataset(namespace: str, dataset: str, _: CuratorAuth) -> dict:
    """The dataset leaves lists and lineage until restored."""
    return await anyio.to_thread.run_sync(_hide, set_dataset_hidden, namespace, dataset, True)


@router.post("/namespaces/{namespace:name}/datasets/{dataset:name}/restore", summary="Restore a hidden dataset")
async def restore_dataset(namespace: str, dataset: str, _: CuratorAuth) -> dict:
    return await anyio.to_thread.run_sync(_hide, set_dataset_hidden, namespace, dataset, False)


@router.delete("/namespaces/{namespace:name}/jobs/{job:name}", summary="Hide a job")
async def delete_job(namespace: str, job: str, _: CuratorAuth) -> dict:
    """A hidden job no longer bridges lineage between its datasets."""
    return await anyio.to_thread.run_sync(_hide, set_job_hidden, namespace, job, True)


@router.post("/namespaces/{namespace:name}/jobs/{job:name}/restore", summary="Restore a hidden job")
async def restore_job(namespace: str, job: str, _: CuratorAuth) -> dict:
    return await anyio.to_thread.run_sync(_hide, set_job_hidden, namespace, job, False)


@router.post("/namespaces/{namespace:name}/restore", summary="Restore a hidden namespace and its jobs")
async def restore_namespace(namespace: str, _: CuratorAuth) -> dict:
    return await anyio.to_thread.run_sync(_hide, set_namespace_hidden, namespace, False)


@router.delete("/namespaces/{namespace:name}", summary="Hide a namespace with its jobs")
async def delete_namespace(namespace: str, _: CuratorAuth) -> dict:
    """Later events of the namespace wait in quarantine."""
    return await anyio.to_thread.run_sync(_hide, set_namespace_hidden, namespace, True)


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/versions/{version:segment}",
    summary="One version of a dataset",
)
async def one_version(namespace: str, dataset: str, version: str, _: ReadAuth) -> dict:
    return _found(
        await _read(catalog.get_dataset_version, namespace, dataset, version),
        f"version {version!r} of {namespace}:{dataset}",
    )


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/versions",
    summary="Schema versions of a dataset, newest first",
)
async def versions(namespace: str, dataset: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    found, total = _found(
        await _read(catalog.dataset_versions, namespace, dataset, limit, offset), f"dataset {namespace}:{dataset}"
    )
    return {"versions": found, "totalCount": total}


def _as_seen_by(principal: Principal, datasets: list[dict]) -> list[dict]:
    """Datasets name the Airflow Connection they live in only to callers allowed to read Connections."""
    reason = connection_details_withheld(principal)
    if reason is None:
        return datasets
    return [{**d, "dataSource": match_without_connections(d["dataSource"], reason)} for d in datasets]


@router.get("/namespaces/{namespace:name}/datasets/{dataset:name}", summary="One dataset")
async def one_dataset(namespace: str, dataset: str, principal: ReadAuth) -> dict:
    """`dataSource` names the Connection only for Airflow users allowed to read Connections (`withheld` says why not)."""
    found = _found(await _read(catalog.get_dataset, namespace, dataset), f"dataset {namespace}:{dataset}")
    return _as_seen_by(principal, [found])[0]


@router.get("/namespaces/{namespace:name}/datasets", summary="Datasets of a namespace (any spelling of it)")
async def namespace_datasets(namespace: str, principal: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    datasets, total = await _read(catalog.list_datasets, namespace, limit, offset)
    return {"datasets": _as_seen_by(principal, datasets), "totalCount": total}


@router.get(
    "/namespaces/{namespace:name}/jobs/{job:name}/runs", summary="Runs of a job, newest first unless sorted otherwise"
)
async def job_runs(
    namespace: str,
    job: str,
    _: ReadAuth,
    limit: int = Limit,
    offset: int = Offset,
    sortBy: Literal[catalog.RUN_SORTS] = Query("startedAt"),
    sortDirection: Literal["asc", "desc"] = Query("desc"),
) -> dict:
    found = await _read(catalog.list_runs, namespace, job, limit, offset, sortBy, sortDirection == "desc")
    runs, total = _found(found, f"job {namespace}:{job}")
    return {"runs": runs, "totalCount": total}


@router.get("/namespaces/{namespace:name}/jobs/{job:name}", summary="One job")
async def one_job(namespace: str, job: str, _: ReadAuth) -> dict:
    return _found(await _read(catalog.get_job, namespace, job), f"job {namespace}:{job}")


@router.get("/namespaces/{namespace:name}/jobs", summary="Jobs of a namespace")
async def namespace_jobs(namespace: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    jobs, total = await _read(catalog.list_jobs, namespace, limit, offset)
    return {"jobs": jobs, "totalCount": total}


def _namespace(conn, name):
    try:
        ns = get_namespace(conn, name)
    except NamespaceNotFound:
        return None
    return catalog.namespace_view(ns)


@router.get("/namespaces/{namespace:name}", summary="One namespace")
async def namespace(namespace: str, _: ReadAuth) -> dict:
    return _found(await _read(_namespace, namespace), f"namespace {namespace!r}")


@router.get("/jobs", summary="All jobs")
async def all_jobs(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    jobs, total = await _read(catalog.list_jobs, None, limit, offset)
    return {"jobs": jobs, "totalCount": total}


@router.get("/runs", summary="Runs of every job, newest first, optionally in one state")
async def runs_by_state(
    _: ReadAuth,
    state: Literal["NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"] | None = Query(None),
    limit: int = Limit,
    offset: int = Offset,
) -> dict:
    runs, total = await _read(catalog.runs_in_state, state, limit, offset)
    return {"runs": runs, "totalCount": total}


@router.get("/jobs/runs/{run_id:segment}/facets", summary="Facets of a run")
async def run_facets(run_id: str, _: ReadAuth) -> dict:
    found = _found(await _read(catalog.get_run, run_id), f"run {run_id!r}")
    return {"runId": run_id, "facets": found["facets"]}


@router.get("/jobs/runs/{run_id:segment}", summary="One run")
async def one_run(run_id: str, _: ReadAuth) -> dict:
    return _found(await _read(catalog.get_run, run_id), f"run {run_id!r}")


def _lineage(conn, node_id, depth, include_attempted, max_nodes, direction, up_depth, down_depth, as_of, with_children):
    started = time.perf_counter()
    try:
        graph = lineage(
            conn, node_id, depth, include_attempted, max_nodes, direction, up_depth, down_depth, as_of, with_children
        )
    except NodeNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    metrics.timing("lineage.query", (time.perf_counter() - started) * 1000)
    return {"graph": graph.as_list(), "truncated": graph.truncated}


@router.get("/lineage", summary="Lineage graph around a node")
async def lineage_graph(
    request: Request,
    _: ReadAuth,
    nodeId: str = Query(..., max_length=MAX_NODE_ID, description="`job:NAMESPACE:NAME` or `dataset:NAMESPACE:NAME`"),
    depth: int = Query(20, ge=0, le=100),
    direction: Literal["both", "upstream", "downstream"] = Query("both"),
    upDepth: int | None = Query(None, ge=0, le=100, description="Hops upstream (with direction=both or upstream)."),
    downDepth: int | None = Query(None, ge=0, le=100, description="Hops downstream."),
    includeAttempted: bool = Query(
        False, description="Also edges no COMPLETE run has confirmed (failed, aborted, running)."
    ),
    asOf: str | None = Query(None, description="ISO 8601 time: the graph as it stood then (edges first seen by then)."),
    withChildren: bool = Query(
        False,
        description="With a job nodeId: start from the job and every job below it (a DAG's tasks and their Spark/dbt jobs).",
    ),
) -> dict:
    """`truncated: true` when the graph would pass `[ol_catalog] max_graph_nodes`: it stops at the last hop that fits."""
    as_of = time_parameter(asOf, "asOf")
    max_nodes = request.app.state.settings.max_graph_nodes
    return await _read(
        _lineage, nodeId, depth, includeAttempted, max_nodes, direction, upDepth, downDepth, as_of, withChildren
    )


def _column_lineage(conn, node_id, depth, with_downstream):
    try:
        return {"graph": column_lineage_graph(conn, node_id, depth, with_downstream)}
    except NodeNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/column-lineage", summary="Column lineage around a dataset, field or job")
async def column_lineage(
    _: ReadAuth,
    nodeId: str = Query(
        ..., max_length=MAX_NODE_ID, description="`dataset:NS:NAME`, `datasetField:NS:NAME:FIELD` or `job:NS:NAME`"
    ),
    depth: int = Query(20, ge=0, le=100),
    withDownstream: bool = Query(False),
) -> dict:
    return await _read(_column_lineage, nodeId.split("#", 1)[0], depth, withDownstream)


@router.get("/search", summary="Search datasets and jobs by name")
async def search(
    _: ReadAuth,
    q: str = Query(
        "",
        max_length=1000,
        description="Part of the name or namespace; case, Unicode spelling (NFKC) and invisible characters do not count; empty lists everything by name.",
    ),
    filter: Literal["dataset", "job", "field", "DATASET", "JOB", "FIELD"] | None = Query(
        None, description="Only datasets, jobs, or columns (field)."
    ),
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Offset,
    sortBy: Literal[catalog.SEARCH_SORTS] = Query("name"),
    sortDirection: Literal["asc", "desc"] = Query("asc"),
) -> dict:
    """`totalCount` is the number of matches; `results` one page of them."""
    results, total = await _read(
        catalog.search, q, filter.lower() if filter else None, limit, offset, sortBy, sortDirection == "desc"
    )
    return {"totalCount": total, "results": results}


def _impact(conn, node_id, include_attempted, max_nodes):
    try:
        return impact(conn, node_id, include_attempted, max_nodes)
    except NodeNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get(
    "/impact",
    summary="Everything downstream of a dataset or column, with the path to each",
    responses={
        404: {"model": ErrorBody, "description": "No such dataset or field, or the node is not a dataset."},
        422: {"model": ErrorBody, "description": "A parameter is invalid; `detail` names it."},
    },
)
async def impact_analysis(
    request: Request,
    _: ReadAuth,
    nodeId: str = Query(..., max_length=MAX_NODE_ID, description="`dataset:NS:NAME` or `datasetField:NS:NAME:FIELD`"),
    includeAttempted: bool = Query(False),
) -> Impact:
    """What breaks if this changes: each downstream dataset (or field) with its depth, the path and the jobs on it."""
    return await _read(_impact, nodeId, includeAttempted, request.app.state.settings.max_graph_nodes)


@router.get(
    "/stats",
    summary="Catalog counts: events, jobs, datasets, runs by state, per day and namespace",
    responses={422: {"model": ErrorBody, "description": "`days` is not a whole number from 1 to 366."}},
)
async def catalog_stats(
    _: ReadAuth, days: int = Query(30, ge=1, le=366, description="Days the per-day and refusal counts cover.")
) -> CatalogStats:
    return await _read(catalog.stats, days)


def _data_sources(conn, sources):
    from airflow_ol_catalog.maintenance.matches import data_source_summary

    return data_source_summary(conn, sources)


@router.get(
    "/data-sources", summary="Airflow Connections as data sources: matched datasets, checks, and unmatched namespaces"
)
async def data_sources(principal: ReadAuth) -> DataSources:
    """Filled in by the ol_catalog_reconcile DAG; `reconciled: false` until it has run.

    Connection ids, hosts, aliases and databases are shown only to Airflow users allowed to read
    Connections, as in Airflow itself; everyone else (catalog tokens too) gets the same rows and
    counts without them, and `withheld` lists what was left out and why.
    """
    from airflow_ol_catalog.maintenance.airflow_connections import airflow_data_sources
    from airflow_ol_catalog.maintenance.matches import summary_without_connections

    sources = await anyio.to_thread.run_sync(airflow_data_sources)
    summary = await _read(_data_sources, sources)
    reason = connection_details_withheld(principal)
    return summary if reason is None else summary_without_connections(summary, reason)


@router.get("/tags", summary="Tags named by the tags facets of jobs, runs and datasets")
async def tags(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    return {"tags": await _read(catalog.list_tags, limit, offset)}
