"""The read API under /api/v1, in Marquez's shapes so Marquez clients work unchanged.

Auth: reads take a catalog token with read access, or an Airflow login allowed to read assets;
hiding and restoring an Airflow login allowed to delete assets, never a token.
Namespaces and names may hold slashes (`postgres://host:5432`, sent encoded as %2F), read from the path as
sent (api/paths.py); routes are declared most specific first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic_core import to_json

from airflow_ol_catalog.api.auth import CuratorAuth, Principal, ReadAuth, connection_details_withheld
from airflow_ol_catalog.api.datamodels import marquez as models
from airflow_ol_catalog.api.datamodels.catalog_extras import (
    CatalogStats,
    DataSources,
    Hidden,
    Impact,
    Measurements,
    RunComparison,
    TestRuns,
)
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.datamodels.graph import ColumnLineageGraph, LineageGraph, StatedFlows
from airflow_ol_catalog.api.schemas import Limit, Offset, date_parameter, node_id_parameter, time_parameter
from airflow_ol_catalog.events import metrics
from airflow_ol_catalog.events.node_ids import KINDS, NodeIdInvalid, readings
from airflow_ol_catalog.events.not_found import DatasetNotFound, JobVersionNotFound, NodeNotFound
from airflow_ol_catalog.events.run_states import RunState
from airflow_ol_catalog.ingest.hiding import set_dataset_hidden, set_job_hidden, set_namespace_hidden
from airflow_ol_catalog.ingest.tokens import token_scopes
from airflow_ol_catalog.lineage import catalog
from airflow_ol_catalog.lineage import run_tree as tree
from airflow_ol_catalog.lineage.columns import column_lineage_graph
from airflow_ol_catalog.lineage.flows import FLOW_KINDS, stated_flows
from airflow_ol_catalog.lineage.graph import GRAPH_KINDS, Graph, Node, lineage
from airflow_ol_catalog.lineage.impact import IMPACT_KINDS, impact
from airflow_ol_catalog.lineage.measurements import measurements
from airflow_ol_catalog.lineage.quality import test_runs
from airflow_ol_catalog.lineage.run_comparison import compare_runs
from airflow_ol_catalog.lineage.source_matches import (
    data_source_summary,
    match_without_connections,
    summary_without_connections,
)
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


# Documented on every route that names an entity; api/app.py answers every NotFound so.
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such namespace, dataset, job, run or version."}
}


def _namespaces(conn, limit, offset):
    items, total = catalog.list_all_namespaces(conn, limit, offset)
    return {"namespaces": items, "totalCount": total}


@router.get(
    "/namespaces", summary="List namespaces: those of every job and every dataset", response_model=models.NamespaceList
)
async def namespaces(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    """Registered namespaces (`registered: true`) carry their description, admins, integrations and event counts."""
    return await _read(_namespaces, limit, offset)


def _hide(setter: Callable, *args) -> dict:
    with write_transaction() as conn:
        setter(conn, *args)
    return {"hidden": args[-1]}


@router.delete(
    "/namespaces/{namespace:name}/datasets/{dataset:name}",
    summary="Hide a dataset",
    response_model=Hidden,
    responses=NOT_FOUND,
)
async def delete_dataset(namespace: str, dataset: str, _: CuratorAuth) -> dict:
    """The dataset leaves lists and lineage until restored."""
    return await anyio.to_thread.run_sync(_hide, set_dataset_hidden, namespace, dataset, True)


@router.post(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/restore",
    summary="Restore a hidden dataset",
    response_model=Hidden,
    responses=NOT_FOUND,
)
async def restore_dataset(namespace: str, dataset: str, _: CuratorAuth) -> dict:
    return await anyio.to_thread.run_sync(_hide, set_dataset_hidden, namespace, dataset, False)


@router.delete(
    "/namespaces/{namespace:name}/jobs/{job:name}", summary="Hide a job", response_model=Hidden, responses=NOT_FOUND
)
async def delete_job(namespace: str, job: str, _: CuratorAuth) -> dict:
    """A hidden job no longer bridges lineage between its datasets."""
    return await anyio.to_thread.run_sync(_hide, set_job_hidden, namespace, job, True)


@router.post(
    "/namespaces/{namespace:name}/jobs/{job:name}/restore",
    summary="Restore a hidden job",
    response_model=Hidden,
    responses=NOT_FOUND,
)
async def restore_job(namespace: str, job: str, _: CuratorAuth) -> dict:
    return await anyio.to_thread.run_sync(_hide, set_job_hidden, namespace, job, False)


@router.post(
    "/namespaces/{namespace:name}/restore",
    summary="Restore a hidden namespace and its jobs",
    response_model=Hidden,
    responses=NOT_FOUND,
)
async def restore_namespace(namespace: str, _: CuratorAuth) -> dict:
    return await anyio.to_thread.run_sync(_hide, set_namespace_hidden, namespace, False)


@router.delete(
    "/namespaces/{namespace:name}", summary="Hide a namespace with its jobs", response_model=Hidden, responses=NOT_FOUND
)
async def delete_namespace(namespace: str, _: CuratorAuth) -> dict:
    """Later events of the namespace wait in quarantine."""
    return await anyio.to_thread.run_sync(_hide, set_namespace_hidden, namespace, True)


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/versions/{version:name}",
    summary="One version of a dataset",
    responses=NOT_FOUND,
    response_model=models.DatasetVersion,
)
async def one_version(namespace: str, dataset: str, version: str, _: ReadAuth) -> dict:
    """`version` is the version's UUID, its digest, or the producer's own version (`datasetVersion`)."""
    return await _read(catalog.get_dataset_version, namespace, dataset, version)


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/versions",
    summary="Schema versions of a dataset, newest first",
    responses=NOT_FOUND,
    response_model=models.DatasetVersionList,
)
async def versions(namespace: str, dataset: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    found, total = await _read(catalog.dataset_versions, namespace, dataset, limit, offset)
    return {"versions": found, "totalCount": total}


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/measurements",
    summary="Rows, bytes, files, column metrics and partitions of the dataset, per run that measured it",
    responses=NOT_FOUND,
    response_model=Measurements,
)
async def dataset_measurements(
    namespace: str,
    dataset: str,
    _: ReadAuth,
    runs: int = Query(100, ge=1, le=1000, description="The dataset's newest runs to read."),
) -> dict:
    """From the `outputStatistics`, `inputStatistics`, `dataQualityMetrics` and `subset` facets the
    dataset's runs sent, oldest first; a facet that broke its schema is left out."""
    return await _read(measurements, namespace, dataset, runs, token_scopes)


def _test_runs(conn, namespace: str, dataset: str, limit: int) -> list[dict]:
    found = catalog.find_dataset(conn, namespace, dataset)
    if found is None:
        raise DatasetNotFound(namespace, dataset)
    return test_runs(conn, found.id, limit)


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/test-runs",
    summary="The newest runs that read or wrote the dataset and sent the tests they executed",
    responses=NOT_FOUND,
    response_model=TestRuns,
)
async def dataset_test_runs(
    namespace: str,
    dataset: str,
    _: ReadAuth,
    limit: int = Query(20, ge=1, le=200, description="At most this many runs."),
) -> dict:
    """From the `test` run facets (TestRunFacet) of the dataset's runs: a dbt singular test, a check task."""
    return {"runs": await _read(_test_runs, namespace, dataset, limit)}


def _as_seen_by(principal: Principal, datasets: list[dict]) -> list[dict]:
    """Datasets name the Airflow Connection they live in only to callers allowed to read Connections."""
    reason = connection_details_withheld(principal)
    if reason is None:
        return datasets
    return [_without_connection(d, reason) for d in datasets]


def _without_connection(dataset: dict, reason: str) -> dict:
    return {**dataset, "dataSource": match_without_connections(dataset["dataSource"], reason)}


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}",
    summary="One dataset",
    responses=NOT_FOUND,
    response_model=models.Dataset,
)
async def one_dataset(namespace: str, dataset: str, principal: ReadAuth) -> dict:
    """`dataSource` names the Connection only for Airflow users allowed to read Connections (`withheld` says why not)."""
    found = await _read(catalog.get_dataset, namespace, dataset)
    return _as_seen_by(principal, [found])[0]


@router.get(
    "/namespaces/{namespace:name}/datasets",
    summary="Datasets of a namespace (any spelling of it)",
    responses=NOT_FOUND,
    response_model=models.DatasetList,
)
async def namespace_datasets(namespace: str, principal: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    datasets, total = await _read(catalog.list_datasets, namespace, limit, offset)
    return {"datasets": _as_seen_by(principal, datasets), "totalCount": total}


@router.get(
    "/namespaces/{namespace:name}/jobs/{job:name}/runs",
    summary="Runs of a job, newest first unless sorted otherwise",
    responses=NOT_FOUND,
    response_model=models.RunList,
)
async def job_runs(
    namespace: str,
    job: str,
    _: ReadAuth,
    limit: int = Limit,
    offset: int = Offset,
    sortBy: Literal[catalog.RUN_SORTS] = Query("startedAt"),  # type: ignore[valid-type]  # the sort keys, read at run time for the OpenAPI enum
    sortDirection: Literal["asc", "desc"] = Query("desc"),
) -> dict:
    runs, total = await _read(catalog.list_runs, namespace, job, limit, offset, sortBy, sortDirection == "desc")
    return {"runs": runs, "totalCount": total}


def _paged(found: list[dict], limit: int, offset: int) -> dict:
    return {"versions": found[offset : offset + limit], "totalCount": len(found)}


@router.get(
    "/namespaces/{namespace:name}/jobs/{job:name}/versions/{version:name}",
    summary="One version of a job",
    responses=NOT_FOUND,
    response_model=models.JobVersion,
)
async def one_job_version(namespace: str, job: str, version: str, _: ReadAuth) -> dict:
    found = await _read(catalog.job_versions, namespace, job)
    match = next((v for v in found if v["version"] == version.lower()), None)  # a UUID, in any case
    if match is None:
        raise JobVersionNotFound(namespace, job, version)
    return match


@router.get(
    "/namespaces/{namespace:name}/jobs/{job:name}/versions",
    summary="Versions of a job, newest first: one per set of inputs and outputs its runs had",
    responses=NOT_FOUND,
    response_model=models.JobVersionList,
)
async def job_versions(namespace: str, job: str, _: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    found = await _read(catalog.job_versions, namespace, job)
    return _paged(found, limit, offset)


@router.get(
    "/namespaces/{namespace:name}/jobs/{job:name}", summary="One job", responses=NOT_FOUND, response_model=models.Job
)
async def one_job(namespace: str, job: str, _: ReadAuth) -> dict:
    return await _read(catalog.get_job, namespace, job)


LastRunStates = Query(
    None, description="Only jobs whose newest run is in one of these states (repeat the parameter for more)."
)


@router.get(
    "/namespaces/{namespace:name}/jobs",
    summary="Jobs of a namespace",
    responses=NOT_FOUND,
    response_model=models.JobList,
)
async def namespace_jobs(
    namespace: str,
    _: ReadAuth,
    limit: int = Limit,
    offset: int = Offset,
    lastRunStates: list[models.RunState] | None = LastRunStates,
) -> dict:
    jobs, total = await _read(catalog.list_jobs, namespace, limit, offset, lastRunStates)
    return {"jobs": jobs, "totalCount": total}


@router.get(
    "/namespaces/{namespace:name}", summary="One namespace", responses=NOT_FOUND, response_model=models.Namespace
)
async def namespace(namespace: str, _: ReadAuth) -> dict:
    """Registered, or named by a job or dataset."""
    return await _read(catalog.find_namespace, namespace)


@router.get("/jobs", summary="All jobs", response_model=models.JobList)
async def all_jobs(
    _: ReadAuth,
    limit: int = Limit,
    offset: int = Offset,
    lastRunStates: list[models.RunState] | None = LastRunStates,
) -> dict:
    jobs, total = await _read(catalog.list_jobs, None, limit, offset, lastRunStates)
    return {"jobs": jobs, "totalCount": total}


@router.get(
    "/sources", summary="Sources datasets live in (from their dataSource facets)", response_model=models.SourceList
)
async def sources(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    found, total = await _read(catalog.list_sources, limit, offset)
    return {"sources": found, "totalCount": total}


@router.get("/sources/{source:name}", summary="One source", responses=NOT_FOUND, response_model=models.Source)
async def one_source(source: str, _: ReadAuth) -> dict:
    return await _read(catalog.get_source, source)


@router.get("/runs", summary="Runs of every job, newest first, optionally in one state", response_model=models.RunList)
async def runs_by_state(
    _: ReadAuth,
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    limit: int = Limit,
    offset: int = Offset,
) -> dict:
    runs, total = await _read(catalog.runs_in_state, state, limit, offset)
    return {"runs": runs, "totalCount": total}


@router.get(
    "/jobs/runs/{run_id:name}/facets",
    summary="Facets of a run, or of its job as the run sent them",
    responses=NOT_FOUND,
    response_model=models.FacetsOfRun,
)
async def run_facets(
    run_id: str,
    _: ReadAuth,
    type: Literal["run", "job", "RUN", "JOB"] = Query("run", description="`run` facets, or the `job` facets."),
) -> dict:
    """With `type=job`: the job facets this run's events carried, a later event's facet replacing an earlier one's."""
    work = catalog.run_job_facets if type.lower() == "job" else catalog.run_facets
    return {"runId": run_id, "facets": await _read(work, run_id)}


@router.get(
    "/jobs/runs/{run_id:name}/tree",
    summary="The run's tree: its parents up to the first run, and every run below that one",
    responses=NOT_FOUND,
    response_model=models.RunTree,
)
async def run_tree(
    run_id: str,
    _: ReadAuth,
    limit: int = Query(500, ge=1, le=5000, description="At most this many runs."),
    namespace: str | None = Query(None, description="With `job`: the namespace of the run's job."),
    job: str | None = Query(None, description="With `namespace`: the tree of this job's run of the id."),
) -> dict:
    return await _read(tree.run_tree, run_id, limit, _of_job(namespace, job))


@router.get(
    "/jobs/runs/{run_id:name}/compare",
    summary="How a run differs from another: inputs, outputs, rows measured, facets",
    responses=NOT_FOUND,
    response_model=RunComparison,
)
async def run_comparison(
    run_id: str,
    _: ReadAuth,
    other: Annotated[str, Query(alias="with", description="The run to compare with, usually the run before.")],
) -> dict:
    return await _read(compare_runs, run_id, other)


@router.get("/jobs/runs/{run_id:name}", summary="One run", responses=NOT_FOUND, response_model=models.Run)
async def one_run(
    run_id: str,
    _: ReadAuth,
    namespace: str | None = Query(None, description="With `job`: the namespace of the run's job."),
    job: str | None = Query(
        None,
        description="With `namespace`: the run of this job. A run id is unique per job only: without them, "
        "of jobs sharing the id the run stored first answers.",
    ),
) -> dict:
    return await _read(catalog.get_run, run_id, _of_job(namespace, job))


def _of_job(namespace: str | None, job: str | None) -> tuple[str, str] | None:
    """The job a run route's `namespace` and `job` name (a run id is unique per job only), or None for neither."""
    if namespace is None or job is None:
        if namespace is not None or job is not None:
            raise HTTPException(422, "query parameters namespace and job: give both, or neither")
        return None
    return namespace, job


def _lineage(conn, *args):
    """`lineage`'s graph (the route's arguments in its order), its time measured."""
    started = time.perf_counter()
    graph = lineage(conn, *args)
    metrics.timing("lineage.query", (time.perf_counter() - started) * 1000)
    return graph


def _graph_json(graph: Graph, principal: Principal) -> bytes:
    """The graph's answer, its nodes' data written from their kept views as they are. Dataset nodes
    carry the dataset as its own route answers this caller: where Connection details are withheld,
    those views are read and written again (lineage graphs run to megabytes: 9 MB for 1,600 nodes,
    which FastAPI would check and write on the event loop, where every other request waits)."""
    reason = connection_details_withheld(principal)  # asked once for the whole graph
    if reason is None:
        return graph.as_json()

    def seen(node: Node) -> bytes:
        view = node["data"]
        if view is None:
            return b"null"
        if node["type"] != "DATASET":
            return view.body
        return to_json(_without_connection(view.value(), reason))

    return graph.as_json(seen)


# A node id's text can often be read more than one way (lineage/graph.resolve_node); a caller
# that knows the node's namespace says it, and only that reading counts.
NodeNamespace = Query(
    None,
    max_length=MAX_NODE_ID,
    description="The node's namespace, where nodeId's namespace ends: only the readings of nodeId with it count "
    "(`dataset:pg://h:5432:db.t` is namespace `pg://h:5432` and name `db.t`, or `pg://h` and `5432:db.t`). "
    "Without it, of the nodes nodeId can name, the one recorded first.",
)

NODE_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No job, dataset or column matches nodeId."}
}


@router.get(
    "/lineage",
    summary="Lineage graph around a node",
    responses=NODE_NOT_FOUND,
    response_model=LineageGraph,
    response_model_exclude_unset=True,  # an edge's `relation` and `via` only where they apply
)
async def lineage_graph(
    request: Request,
    principal: ReadAuth,
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
    showTemporary: bool = Query(
        False,
        description="Keep datasets that are only a job's passing output (`datasetType` JOB_OUTPUT, or subtype "
        "TEMPORARY) as nodes, instead of edges from their writers to their readers `via` them.",
    ),
    namespace: str | None = NodeNamespace,
) -> Response:
    """Marquez's graph: each node's `data` is the job or dataset as its own route answers it, edges
    `{origin, destination}` follow the data flow. `depth` counts hops between a job and a dataset.
    `truncated: true` when the graph would pass `[ol_catalog] max_graph_nodes`: it stops at the last hop that fits."""
    as_of = time_parameter(asOf, "asOf")
    node_id_parameter(nodeId, GRAPH_KINDS, namespace)
    max_nodes = request.app.state.settings.max_graph_nodes
    found = await _read(
        _lineage,
        nodeId,
        depth,
        includeAttempted,
        max_nodes,
        direction,
        upDepth,
        downDepth,
        as_of,
        withChildren,
        showTemporary,
        namespace,
    )
    return Response(await anyio.to_thread.run_sync(_graph_json, found, principal), media_type="application/json")


def _column_lineage(conn, node_id, depth, with_downstream, namespace):
    try:
        return {"graph": column_lineage_graph(conn, node_id, depth, with_downstream, namespace)}
    except NodeNotFound:
        # Marquez's clients may end a node id with `#VERSION`; a name may hold `#` too, so the
        # whole id is read first. The graph is the latest one (versions are not kept apart).
        if "#" not in node_id:
            raise
        cut = node_id.rsplit("#", 1)[0]
        try:
            readings(cut, KINDS, namespace)
        except NodeIdInvalid:
            raise NodeNotFound(node_id) from None  # what is left is no node id: the whole one named nothing
        return {"graph": column_lineage_graph(conn, cut, depth, with_downstream, namespace)}


@router.get(
    "/column-lineage",
    summary="Column lineage around a dataset, field or job",
    responses=NODE_NOT_FOUND,
    response_model=ColumnLineageGraph,
)
async def column_lineage(
    _: ReadAuth,
    nodeId: str = Query(
        ..., max_length=MAX_NODE_ID, description="`dataset:NS:NAME`, `datasetField:NS:NAME:FIELD` or `job:NS:NAME`"
    ),
    depth: int = Query(20, ge=0, le=100),
    withDownstream: bool = Query(False),
    namespace: str | None = NodeNamespace,
) -> dict:
    """Marquez's column graph: one node per column, one edge per column and input column, and in
    each column's `inputFields` every way it derives from each input."""
    node_id = node_id_parameter(nodeId, KINDS, namespace)
    return await _read(_column_lineage, node_id, depth, withDownstream, namespace)


@router.get(
    "/flows",
    summary="What lineage facets state flows into and out of a job or dataset",
    responses=NODE_NOT_FOUND,
    response_model=StatedFlows,
)
async def flows(
    _: ReadAuth,
    nodeId: str = Query(..., max_length=MAX_NODE_ID, description="`job:NAMESPACE:NAME` or `dataset:NAMESPACE:NAME`"),
    namespace: str | None = NodeNamespace,
) -> dict:
    """The explicit lineage (`lineage` facets) around the node: from or to datasets, their columns
    and other jobs (job to job too), with the transformations and runs stated. The graph routes
    draw these flows' job<->dataset edges, and those between two jobs or two datasets with no job."""
    node_id_parameter(nodeId, FLOW_KINDS, namespace)
    return {"flows": await _read(stated_flows, nodeId, namespace)}


@router.get("/search", summary="Search datasets and jobs by name", response_model=models.SearchResults)
async def search(
    _: ReadAuth,
    q: str = Query(
        "",
        max_length=1000,
        description="Part of the name (Marquez matches names, not namespaces); case, Unicode spelling (NFKC) and "
        "invisible characters do not count, and `%` and `_` are themselves; empty lists everything by name.",
    ),
    filter: Literal["dataset", "job", "field", "DATASET", "JOB", "FIELD"] | None = Query(
        None, description="Only datasets, jobs, or columns (field)."
    ),
    sort: Literal["name", "updated_at", "NAME", "UPDATE_AT"] | None = Query(
        None, description="Marquez's sort: by name or last update (same as sortBy name or updatedAt)."
    ),
    namespace: str | None = Query(None, max_length=1024, description="Only datasets and jobs of this namespace."),
    before: str | None = Query(None, description="Only those last updated before this day (YYYY-MM-DD)."),
    after: str | None = Query(None, description="Only those last updated after this day (YYYY-MM-DD)."),
    limit: int = Query(10, ge=0, le=1000, description="How many to return (0 for the count alone)."),
    offset: int = Offset,
    sortBy: Literal[catalog.SEARCH_SORTS] = Query("name"),  # type: ignore[valid-type]  # the sort keys, read at run time for the OpenAPI enum
    sortDirection: Literal["asc", "desc"] = Query("asc"),
) -> dict:
    """`totalCount` is the number of matches; `results` one page of them."""
    if sort is not None:
        sortBy = "name" if sort.lower() == "name" else "updatedAt"
    results, total = await _read(
        catalog.search,
        q,
        filter.lower() if filter else None,
        limit,
        offset,
        sortBy,
        sortDirection == "desc",
        namespace,
        date_parameter(before, "before"),
        date_parameter(after, "after"),
    )
    return {"totalCount": total, "results": results}


@router.get(
    "/impact",
    summary="Everything downstream of a dataset or column, with the path to each",
    responses={404: {"model": ErrorBody, "description": "No such dataset or field, or the node is not a dataset."}},
)
async def impact_analysis(
    request: Request,
    _: ReadAuth,
    nodeId: str = Query(..., max_length=MAX_NODE_ID, description="`dataset:NS:NAME` or `datasetField:NS:NAME:FIELD`"),
    includeAttempted: bool = Query(False),
    namespace: str | None = NodeNamespace,
) -> Impact:
    """What breaks if this changes: each downstream dataset (or field) with its depth, the path and the jobs on it."""
    node_id_parameter(nodeId, IMPACT_KINDS, namespace)
    return await _read(impact, nodeId, includeAttempted, request.app.state.settings.max_graph_nodes, namespace)


@router.get(
    "/stats",
    summary="Catalog counts: events, jobs, datasets, runs by state, per day and namespace",
    responses={422: {"model": ErrorBody, "description": "`days` is not a whole number from 1 to 366."}},
)
async def catalog_stats(
    _: ReadAuth, days: int = Query(30, ge=1, le=366, description="Days the per-day and refusal counts cover.")
) -> CatalogStats:
    return await _read(catalog.stats, days)


@router.get(
    "/data-sources",
    summary="Airflow Connections as data sources: matched datasets, checks, and unmatched namespaces",
    response_model=DataSources,
)
async def data_sources(principal: ReadAuth) -> dict:
    """Filled in by the ol_catalog_reconcile DAG; `reconciled: false` until it has run.

    Connection ids, hosts, aliases and databases are shown only to Airflow users allowed to read
    Connections, as in Airflow itself; everyone else (catalog tokens too) gets the same rows and
    counts without them, and `withheld` lists what was left out and why.
    """
    from airflow_ol_catalog.lineage.airflow_connections import airflow_data_sources

    sources = await anyio.to_thread.run_sync(airflow_data_sources)
    summary = await _read(data_source_summary, sources)
    reason = connection_details_withheld(principal)
    return summary if reason is None else summary_without_connections(summary, reason)
