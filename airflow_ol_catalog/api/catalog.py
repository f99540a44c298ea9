"""The read API under /api/v1, in Marquez's shapes so Marquez clients work unchanged.

Auth on every route: a catalog token with read access, or an Airflow login allowed to read assets.
Namespaces and names may hold slashes (`postgres://host:5432`, sent encoded as %2F): the routes
take them as paths and are declared most specific first.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import anyio
from fastapi import APIRouter, HTTPException, Query

from airflow_ol_catalog.api.auth import ReadAuth
from airflow_ol_catalog.ingest.namespaces import NamespaceNotFound, get_namespace, list_namespaces
from airflow_ol_catalog.lineage import catalog
from airflow_ol_catalog.lineage.columns import column_lineage_graph
from airflow_ol_catalog.lineage.graph import NodeNotFound, lineage
from airflow_ol_catalog.store.engine import read_connection

router = APIRouter(prefix="/api/v1", tags=["catalog"])

Limit = Query(100, ge=1, le=1000)
Offset = Query(0, ge=0)


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
    rows = {r.name: r for r in [catalog.get_namespace_row(conn, ns.name) for ns in items]}
    return {"namespaces": [catalog.namespace_view(rows[ns.name], ns.integrations) for ns in items], "totalCount": total}


@router.get("/namespaces", summary="List namespaces")
async def namespaces(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    return await _read(_namespaces, limit, offset)


@router.get("/namespaces/{namespace:path}/datasets/{dataset:path}/versions/{version}", summary="One version of a dataset")
async def one_version(namespace: str, dataset: str, version: str, _: ReadAuth) -> dict:
    return _found(await _read(catalog.get_dataset_version, namespace, dataset, version), f"version {version!r} of {namespace}:{dataset}")


@router.get("/namespaces/{namespace:path}/datasets/{dataset:path}/versions", summary="Schema versions of a dataset, newest first")
async def versions(namespace: str, dataset: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    found, total = _found(await _read(catalog.dataset_versions, namespace, dataset, limit, offset), f"dataset {namespace}:{dataset}")
    return {"versions": found, "totalCount": total}


@router.get("/namespaces/{namespace:path}/datasets/{dataset:path}", summary="One dataset")
async def one_dataset(namespace: str, dataset: str, _: ReadAuth) -> dict:
    return _found(await _read(catalog.get_dataset, namespace, dataset), f"dataset {namespace}:{dataset}")


@router.get("/namespaces/{namespace:path}/datasets", summary="Datasets of a namespace (any spelling of it)")
async def namespace_datasets(namespace: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    datasets, total = await _read(catalog.list_datasets, namespace, limit, offset)
    return {"datasets": datasets, "totalCount": total}


@router.get("/namespaces/{namespace:path}/jobs/{job:path}/runs", summary="Runs of a job, newest first")
async def job_runs(namespace: str, job: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    runs, total = _found(await _read(catalog.list_runs, namespace, job, limit, offset), f"job {namespace}:{job}")
    return {"runs": runs, "totalCount": total}


@router.get("/namespaces/{namespace:path}/jobs/{job:path}", summary="One job")
async def one_job(namespace: str, job: str, _: ReadAuth) -> dict:
    return _found(await _read(catalog.get_job, namespace, job), f"job {namespace}:{job}")


@router.get("/namespaces/{namespace:path}/jobs", summary="Jobs of a namespace")
async def namespace_jobs(namespace: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    jobs, total = await _read(catalog.list_jobs, namespace, limit, offset)
    return {"jobs": jobs, "totalCount": total}


def _namespace(conn, name):
    try:
        ns = get_namespace(conn, name)
    except NamespaceNotFound:
        return None
    return catalog.namespace_view(catalog.get_namespace_row(conn, name), ns.integrations)


@router.get("/namespaces/{namespace:path}", summary="One namespace")
async def namespace(namespace: str, _: ReadAuth) -> dict:
    return _found(await _read(_namespace, namespace), f"namespace {namespace!r}")


@router.get("/jobs", summary="All jobs")
async def all_jobs(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    jobs, total = await _read(catalog.list_jobs, None, limit, offset)
    return {"jobs": jobs, "totalCount": total}


@router.get("/jobs/runs/{run_id}/facets", summary="Facets of a run")
async def run_facets(run_id: str, _: ReadAuth) -> dict:
    found = _found(await _read(catalog.get_run, run_id), f"run {run_id!r}")
    return {"runId": run_id, "facets": found["facets"]}


@router.get("/jobs/runs/{run_id}", summary="One run")
async def one_run(run_id: str, _: ReadAuth) -> dict:
    return _found(await _read(catalog.get_run, run_id), f"run {run_id!r}")


def _lineage(conn, node_id, depth, include_attempted):
    try:
        graph = lineage(conn, node_id, depth, include_attempted)
    except NodeNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"graph": graph.as_list(), "truncated": graph.truncated}


@router.get("/lineage", summary="Lineage graph around a node")
async def lineage_graph(
    _: ReadAuth,
    nodeId: str = Query(..., description="`job:NAMESPACE:NAME` or `dataset:NAMESPACE:NAME`"),
    depth: int = Query(20, ge=0, le=100),
    includeAttempted: bool = Query(False, description="Also edges no COMPLETE run has confirmed (failed, aborted, running)."),
) -> dict:
    return await _read(_lineage, nodeId, depth, includeAttempted)


def _column_lineage(conn, node_id, depth, with_downstream):
    try:
        return {"graph": column_lineage_graph(conn, node_id, depth, with_downstream)}
    except NodeNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/column-lineage", summary="Column lineage around a dataset, field or job")
async def column_lineage(
    _: ReadAuth,
    nodeId: str = Query(..., description="`dataset:NS:NAME`, `datasetField:NS:NAME:FIELD` or `job:NS:NAME`"),
    depth: int = Query(20, ge=0, le=100),
    withDownstream: bool = Query(False),
) -> dict:
    return await _read(_column_lineage, nodeId.split("#", 1)[0], depth, withDownstream)


@router.get("/search", summary="Search datasets and jobs by name")
async def search(
    _: ReadAuth,
    q: str = Query(..., min_length=1),
    filter: Literal["dataset", "job", "DATASET", "JOB"] | None = Query(None),
    limit: int = Query(10, ge=1, le=1000),
) -> dict:
    results = await _read(catalog.search, q, filter.lower() if filter else None, limit)
    return {"totalCount": len(results), "results": results}
