"""Airflow's Assets joined with the catalog's datasets: an Asset names the dataset the OpenLineage
provider converts its URI to, in any spelling of its namespace.

Auth: as the catalog's other reads, a catalog token with read access or an Airflow login allowed to
read assets (Airflow's own rule for its Asset pages).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from airflow_ol_catalog.airflow_integration.asset_events import emit_waiting
from airflow_ol_catalog.airflow_integration.assets import (
    AirflowAsset,
    AssetEventView,
    converted_schemes,
    latest_asset_events,
    read_assets,
)
from airflow_ol_catalog.api.auth import AdminAuth, AssetEventAuth, ReadAuth, asset_event_principal
from airflow_ol_catalog.api.catalog import NOT_FOUND, _read
from airflow_ol_catalog.api.datamodels import assets as models
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.schemas import Limit, Offset, PathRowId, Text
from airflow_ol_catalog.events.not_found import AssetNotFound, DatasetNotFound
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.ingest.asset_triggers import (
    MAX_PATTERN,
    Trigger,
    TriggerError,
    TriggerExists,
    create_trigger,
    delete_trigger,
    list_triggers,
    literal_pattern,
    writes_queued,
)
from airflow_ol_catalog.lineage import dag_run_trace as trace
from airflow_ol_catalog.lineage.asset_links import LinkedDataset, datasets_named, datasets_without_asset, writes_of
from airflow_ol_catalog.lineage.catalog import find_dataset
from airflow_ol_catalog.store.engine import get_engine, write_transaction

router = APIRouter(prefix="/api/v1", tags=["airflow assets"])

log = logging.getLogger(__name__)

LATEST_EVENTS = 5
LATEST_WRITES = 20


async def _linked_assets() -> list[tuple[AirflowAsset, LinkedDataset | None]]:
    assets = await anyio.to_thread.run_sync(read_assets)
    names = {(a.openlineage.namespace, a.openlineage.name) for a in assets if a.openlineage}
    links = await _read(datasets_named, names)
    return [(a, links.get((a.openlineage.namespace, a.openlineage.name)) if a.openlineage else None) for a in assets]


def _asset_view(asset: AirflowAsset, linked: LinkedDataset | None) -> dict[str, Any]:
    ol = asset.openlineage
    return {
        "id": asset.id,
        "name": asset.name,
        "uri": asset.uri,
        "group": asset.group,
        "active": asset.active,
        "openLineage": {"namespace": ol.namespace, "name": ol.name} if ol else None,
        "dataset": {"namespace": linked.namespace, "name": linked.name} if linked else None,
        "producers": [{"dagId": dag, "taskId": task} for dag, task in asset.producers],
        "consumers": asset.consumers,
    }


def _producing_run(extra: dict[str, Any]) -> dict[str, Any] | None:
    named = extra.get("openlineage")
    if not isinstance(named, dict):
        return None
    ns, name, run_id = (named.get(k) for k in ("parentJobNamespace", "parentJobName", "parentRunId"))
    if not all(isinstance(v, str) and v for v in (ns, name, run_id)):
        return None
    return {"job": {"namespace": ns, "name": name}, "runId": run_id}


def _event_view(e: AssetEventView) -> dict[str, Any]:
    return {
        "id": e.id,
        "timestamp": iso(e.timestamp),
        "sourceDagId": e.source_dag_id,
        "sourceTaskId": e.source_task_id,
        "sourceRunId": e.source_run_id,
        "sourceMapIndex": e.source_map_index,
        "partitionKey": e.partition_key,
        "producingRun": _producing_run(e.extra),
    }


@router.get(
    "/airflow/assets",
    summary="Airflow's Assets, each with the catalog dataset it names",
    response_model=models.AirflowAssets,
)
async def airflow_assets(
    _: ReadAuth,
    linked: bool | None = Query(
        None, description="true: only Assets naming a catalog dataset; false: only those naming none."
    ),
    limit: int = Limit,
    offset: int = Offset,
) -> dict:
    found = [(a, d) for a, d in await _linked_assets() if linked is None or (d is not None) == linked]
    return {"assets": [_asset_view(a, d) for a, d in found[offset : offset + limit]], "totalCount": len(found)}


@router.get(
    "/airflow/assets/{asset_id}",
    summary="One Airflow Asset, with the catalog dataset it names",
    responses={404: NOT_FOUND[404] | {"description": "No Asset of this id."}},
    response_model=models.AirflowAsset,
)
async def airflow_asset(asset_id: PathRowId, _: ReadAuth) -> dict:
    """For the Asset page of an Airflow that has one for plugins: which dataset to show."""
    for asset, linked in await _linked_assets():
        if asset.id == asset_id:
            return _asset_view(asset, linked)
    raise AssetNotFound(asset_id)


@router.get(
    "/airflow/dag-runs/{dag_id:name}/{dag_run_id:name}/trace",
    summary="An Airflow DAG run's trace: its task runs, the runs they started, and the runs it triggered or was triggered by",
    responses={404: {"model": ErrorBody, "description": "No OpenLineage event names this DAG run."}},
    response_model=models.DagRunTrace,
)
async def dag_run_trace(
    request: Request,
    dag_id: str,
    dag_run_id: str,
    _: ReadAuth,
    limit: int = Query(500, ge=1, le=5000, description="At most this many runs of its tree."),
) -> dict:
    """The DAG run is the run of a job named as the DAG in one of this Airflow's namespaces
    (`[ol_catalog] airflow_namespaces`), and so are the DAG runs it triggered."""
    namespaces = request.app.state.settings.airflow_namespaces
    return await _read(trace.dag_run_trace, dag_id, dag_run_id, limit, namespaces)


@router.get(
    "/airflow/namespaces",
    summary="The namespaces of this Airflow's OpenLineage jobs: where its DAGs and tasks are read",
    response_model=models.AirflowNamespaces,
)
async def airflow_namespaces(request: Request, _: ReadAuth) -> dict:
    """`[ol_catalog] airflow_namespaces`, else the OpenLineage provider's `[openlineage] namespace`:
    the Lineage tabs of DAGs and task instances read jobs only there."""
    return {"namespaces": list(request.app.state.settings.airflow_namespaces)}


@router.get(
    "/airflow/dags/{dag_id:name}/namespaces",
    summary="Which of this Airflow's namespaces hold the DAG's OpenLineage job",
    response_model=models.AirflowNamespaces,
)
async def dag_namespaces(request: Request, dag_id: str, _: ReadAuth) -> dict:
    """For the DAG's Lineage tab: the job named as the DAG in `[ol_catalog] airflow_namespaces`, so a
    producer writing another namespace cannot stand in for the DAG (and jobs of other names are not
    searched through)."""
    namespaces = request.app.state.settings.airflow_namespaces
    return {"namespaces": await _read(trace.dag_namespaces, dag_id, namespaces)}


@router.get(
    "/airflow/task-instances/{dag_id:name}/{dag_run_id:name}/{task_id:name}/run",
    summary="The OpenLineage run of an Airflow task instance",
    response_model=models.TaskInstanceRun,
)
async def task_instance_run(
    request: Request,
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    _: ReadAuth,
    mapIndex: int = Query(-1, ge=-1, le=2**31 - 1, description="The task instance's map index; -1 when not mapped."),
) -> dict:
    """For the task instance's OpenLineage tab: the run of job DAG_ID.TASK_ID in this Airflow's
    namespaces whose `airflow` facet names this DAG, DAG run, task and map index, however many runs
    the task has had since. All null while no such run has reached the catalog (the task has not
    run, or its events are not sent here)."""
    namespaces = request.app.state.settings.airflow_namespaces
    found = await _read(trace.task_instance_run, dag_id, dag_run_id, task_id, mapIndex, namespaces)
    namespace, job, run = found or (None, None, None)
    return {"namespace": namespace, "job": job, "run": run}


@router.get(
    "/airflow/datasets-without-asset",
    summary="Datasets of namespaces Airflow can describe as Assets that no Asset names",
    response_model=models.DatasetsWithoutAsset,
)
async def datasets_without_assets(_: ReadAuth, limit: int = Limit, offset: int = Offset) -> dict:
    """Namespaces whose scheme one of the installed providers converts Asset URIs to (`file`,
    `postgres`, `s3`, ...), or that an existing Asset converts to."""
    assets = await _linked_assets()
    schemes = await anyio.to_thread.run_sync(converted_schemes)
    in_use = {a.openlineage.namespace.partition("://")[0].lower() for a, _ in assets if a.openlineage}
    linked = {d.id for _, d in assets if d is not None}
    datasets, total = await _read(datasets_without_asset, schemes | in_use, linked, limit, offset)
    return {
        "datasets": [{"namespace": d.namespace, "name": d.name} for d in datasets],
        "totalCount": total,
        "schemes": sorted(schemes),
    }


@router.get(
    "/namespaces/{namespace:name}/datasets/{dataset:name}/airflow-assets",
    summary="The Airflow Assets naming a dataset, with their producers, consumers and latest asset events",
    responses=NOT_FOUND,
    response_model=models.DatasetAssets,
)
async def dataset_assets(namespace: str, dataset: str, _: ReadAuth) -> dict:
    row = await _read(find_dataset, namespace, dataset)
    if row is None:
        raise DatasetNotFound(namespace, dataset)
    naming = [(a, d) for a, d in await _linked_assets() if d is not None and d.id == row.id]
    triggers = await _read(list_triggers)
    # The writes before the asset events: a write shown as created has its asset event made already,
    # so the answer never shows one without the other.
    writes = await _read(writes_of, row.id, LATEST_WRITES)
    events = await anyio.to_thread.run_sync(latest_asset_events, [a.id for a, _ in naming], LATEST_EVENTS)
    return {
        "assets": [
            {**_asset_view(a, d), "latestEvents": [_event_view(e) for e in events.get(a.id, [])]} for a, d in naming
        ],
        "watchedBy": [_trigger_view(t) for t in triggers if t.matches(row.namespace, row.name)],
        "exactTrigger": next(
            (
                t.id
                for t in triggers
                if (t.namespace_pattern, t.name_pattern) == (literal_pattern(row.namespace), literal_pattern(row.name))
            ),
            None,
        ),
        "catalogWrites": [_write_view(w) for w in writes],
    }


def _trigger_view(t: Trigger) -> dict[str, Any]:
    return {
        "id": t.id,
        "namespace": t.namespace_pattern,
        "name": t.name_pattern,
        "createdAt": iso(t.created_at),
        "createdBy": t.created_by,
    }


def _write_view(w: Any) -> dict[str, Any]:
    return {
        "job": {"namespace": w.job_namespace, "name": w.job_name},
        "runId": w.run_id,
        "eventTime": iso(w.event_time),
        "partitionKey": w.partition_key,
        "state": w.state,
        "assetIds": json.loads(w.asset_ids) if w.asset_ids else [],
        "assetEventIds": json.loads(w.asset_event_ids) if w.asset_event_ids else [],
    }


class NewTrigger(BaseModel):
    namespace: Text = Field(description="Glob on the namespace (`*` for any; any spelling of a namespace matches).")
    name: Text = Field(description="Glob on the dataset name (`*` for any).")
    exact: bool = Field(
        False,
        description="true: `namespace` and `name` are one dataset's, each character standing for itself "
        "(its `*`, `?` and `[` are stored escaped, `[*]`, `[?]`, `[[]`, as a glob writes them).",
    )


@router.get(
    "/airflow/asset-triggers",
    summary="The datasets whose writes, by any producer, make Airflow asset events",
    response_model=models.AssetTriggers,
)
async def asset_triggers(_: ReadAuth) -> dict:
    return {"triggers": [_trigger_view(t) for t in await _read(list_triggers)]}


@router.get(
    "/airflow/asset-triggers/allowed",
    summary="Whether the caller may mark datasets whose writes trigger Airflow",
    response_model=models.MarkingAllowed,
)
async def marking_allowed(request: Request, _: ReadAuth) -> dict:
    try:
        await asset_event_principal(request)
    except HTTPException as refused:
        return {"allowed": False, "reason": str(refused.detail)}
    return {"allowed": True, "reason": None}


@router.post(
    "/airflow/asset-triggers",
    status_code=201,
    summary="Mark datasets whose writes make Airflow asset events",
    response_model=models.AssetTrigger,
    responses={409: {"model": ErrorBody, "description": "Marked already."}},
)
async def new_asset_trigger(body: NewTrigger, principal: AssetEventAuth) -> dict:
    """From then on, every COMPLETE event that says its run wrote a dataset these globs match makes
    an asset event of each Airflow Asset naming that dataset (once per run), so DAGs scheduled on the
    Asset run when Spark, dbt or a script writes it."""

    namespace, name = body.namespace, body.name
    if body.exact:
        # A dataset the catalog knows is marked in the spelling it shows, so that another spelling of
        # its namespace (postgresql:// for postgres://) finds the mark made already.
        known = await _read(find_dataset, namespace, name)
        if known is not None:
            namespace, name = known.namespace, known.name
        namespace, name = literal_pattern(namespace), literal_pattern(name)
        for field, value in (("namespace", namespace), ("name", name)):
            if len(value.encode("utf-8", "surrogatepass")) > MAX_PATTERN:
                raise HTTPException(
                    422,
                    f"body.{field}: marked alone, its `*`, `?` and `[` are stored escaped (`[*]`, `[?]`, `[[]`), "
                    f"and it is then longer than {MAX_PATTERN} bytes; mark it with a glob instead",
                )

    def create() -> Trigger:
        with write_transaction() as conn:
            return create_trigger(conn, namespace, name, f"user:{principal.user_name}")

    try:
        return _trigger_view(await anyio.to_thread.run_sync(create))
    except TriggerExists as exc:
        raise HTTPException(409, f"body.{exc}") from None
    except TriggerError as exc:
        raise HTTPException(422, f"body.{exc}") from None


@router.delete(
    "/airflow/asset-triggers/{trigger_id}",
    summary="Unmark: writes no longer make asset events",
    response_model=models.AssetTrigger,
    responses={404: {"model": ErrorBody, "description": "No such mark."}},
)
async def delete_asset_trigger(trigger_id: PathRowId, _: AssetEventAuth) -> dict:
    """Answers the mark removed."""

    def delete() -> Trigger | None:
        with write_transaction() as conn:
            return delete_trigger(conn, trigger_id)

    removed = await anyio.to_thread.run_sync(delete)
    if removed is None:
        raise HTTPException(404, f"asset trigger {trigger_id} not found")
    return _trigger_view(removed)


@router.post(
    "/admin/asset-triggers/emit",
    summary="Make the asset events of writes still waiting (admin; the replay DAG calls it)",
    response_model=models.Emitted,
)
async def emit_asset_events(_: AdminAuth) -> dict:
    """Writes are turned into asset events right after the event that reports them is stored; this
    catches those an API server stopped before it could."""
    done = await anyio.to_thread.run_sync(emit_waiting, get_engine())
    return {
        "created": done.created,
        "events": done.events,
        "noAsset": done.no_asset,
        "declared": done.declared,
        "failed": done.failed,
    }


# The task making asset events of queued writes in this process, while one runs.
_emitting: set[asyncio.Task[None]] = set()


def emit_in_background() -> None:
    """When the events just stored queued writes to marked datasets, make their asset events in a
    task of their own (one at a time per process), so that no answer waits for Airflow."""
    if writes_queued.is_set() and not _emitting:
        task = asyncio.get_running_loop().create_task(_emit_while_queued())
        _emitting.add(task)
        task.add_done_callback(_emitted)


async def _emit_while_queued() -> None:
    while writes_queued.is_set():
        writes_queued.clear()
        done = await anyio.to_thread.run_sync(emit_waiting, get_engine())
        for failure in done.failed:
            log.warning("asset event not made, it stays queued: %s", failure)


def _emitted(task: asyncio.Task[None]) -> None:
    _emitting.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "making asset events failed; queued writes wait for the next event or the replay DAG",
            exc_info=task.exception(),
        )
    elif not task.cancelled():
        emit_in_background()  # queued while the last batch was being made
