"""Airflow's Assets joined with the catalog's datasets: an Asset names the dataset the OpenLineage
provider converts its URI to, in any spelling of its namespace.

Auth: as the catalog's other reads, a catalog token with read access or an Airflow login allowed to
read assets (Airflow's own rule for its Asset pages).
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Query

from airflow_ol_catalog.airflow_integration.assets import (
    AirflowAsset,
    AssetEventView,
    converted_schemes,
    latest_asset_events,
    read_assets,
)
from airflow_ol_catalog.api.auth import ReadAuth
from airflow_ol_catalog.api.catalog import NOT_FOUND, _read
from airflow_ol_catalog.api.datamodels import assets as models
from airflow_ol_catalog.api.schemas import Limit, Offset
from airflow_ol_catalog.events.not_found import AssetNotFound, DatasetNotFound
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.asset_links import LinkedDataset, datasets_named, datasets_without_asset
from airflow_ol_catalog.lineage.catalog import find_dataset

router = APIRouter(prefix="/api/v1", tags=["airflow assets"])

LATEST_EVENTS = 5


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
async def airflow_asset(asset_id: int, _: ReadAuth) -> dict:
    """For the Asset page of an Airflow that has one for plugins: which dataset to show."""
    for asset, linked in await _linked_assets():
        if asset.id == asset_id:
            return _asset_view(asset, linked)
    raise AssetNotFound(asset_id)


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
    events = await anyio.to_thread.run_sync(latest_asset_events, [a.id for a, _ in naming], LATEST_EVENTS)
    return {
        "assets": [
            {**_asset_view(a, d), "latestEvents": [_event_view(e) for e in events.get(a.id, [])]} for a, d in naming
        ]
    }
