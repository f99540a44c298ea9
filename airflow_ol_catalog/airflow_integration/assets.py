"""Airflow's Assets as the catalog sees them: each with the OpenLineage dataset name Airflow's
OpenLineage provider gives it (the provider's own conversion of Asset URIs, so that an Asset and
the lineage Airflow sends for it name the same dataset), the tasks that produce it, the DAGs
scheduled on it, and its latest asset events. Read from Airflow's database in the API server."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenLineageName:
    namespace: str
    name: str


@dataclass
class AirflowAsset:
    id: int
    name: str
    uri: str
    group: str
    active: bool  # declared by a DAG the dag-processor parsed last (Airflow's asset_active)
    openlineage: OpenLineageName | None  # None: the OpenLineage provider has no conversion for its URI
    producers: list[tuple[str, str]] = field(default_factory=list)  # (dag id, task id)
    consumers: list[str] = field(default_factory=list)  # dag ids scheduled on it


@dataclass(frozen=True)
class AssetEventView:
    id: int
    asset_id: int
    timestamp: datetime
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_map_index: int | None
    partition_key: str | None
    extra: dict[str, Any]


def openlineage_name(name: str, uri: str) -> OpenLineageName | None:
    """The OpenLineage dataset an Asset stands for, as the OpenLineage provider converts it when a
    task declares it; None when its URI scheme has no converter (or the URI is not valid)."""
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset
    from airflow.sdk import Asset

    try:
        converted = translate_airflow_asset(Asset(name=name, uri=uri), None)
    except Exception as exc:  # a converter may refuse a URI in its own way (ValueError, KeyError, ...)
        log.debug("asset %r has no OpenLineage name: %s", uri, exc)
        return None
    return None if converted is None else OpenLineageName(converted.namespace, converted.name)


def converted_schemes() -> set[str]:
    """The Asset URI schemes the installed providers convert to OpenLineage names."""
    from airflow.providers.openlineage.utils.utils import _get_providers_manager_instance

    manager = _get_providers_manager_instance()
    converters = getattr(manager, "asset_to_openlineage_converters", None) or {}
    return set(converters)


def read_assets() -> list[AirflowAsset]:
    """Every Asset in Airflow's database, by id, with its producers, consumers and OpenLineage name."""
    from airflow.models.asset import AssetActive, AssetModel, DagScheduleAssetReference, TaskOutletAssetReference
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.id, AssetModel.name, AssetModel.uri, AssetModel.group).order_by(AssetModel.id)
        ).all()
        active = set(session.execute(select(AssetActive.name, AssetActive.uri)).tuples())
        producers = session.execute(
            select(TaskOutletAssetReference.asset_id, TaskOutletAssetReference.dag_id, TaskOutletAssetReference.task_id)
        ).all()
        consumers = session.execute(select(DagScheduleAssetReference.asset_id, DagScheduleAssetReference.dag_id)).all()
    assets = {
        r.id: AirflowAsset(r.id, r.name, r.uri, r.group, (r.name, r.uri) in active, openlineage_name(r.name, r.uri))
        for r in rows
    }
    for asset_id, dag_id, task_id in sorted(producers):
        if asset_id in assets:
            assets[asset_id].producers.append((dag_id, task_id))
    for asset_id, dag_id in sorted(consumers):
        if asset_id in assets:
            assets[asset_id].consumers.append(dag_id)
    return list(assets.values())


def latest_asset_events(asset_ids: list[int], per_asset: int) -> dict[int, list[AssetEventView]]:
    """The newest `per_asset` asset events of each of these Assets, newest first."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    found: dict[int, list[AssetEventView]] = defaultdict(list)
    if not asset_ids:
        return found
    position = (
        func.row_number()
        .over(partition_by=AssetEvent.asset_id, order_by=(AssetEvent.timestamp.desc(), AssetEvent.id.desc()))
        .label("position")
    )
    ranked = select(AssetEvent, position).where(AssetEvent.asset_id.in_(asset_ids)).subquery()
    with create_session() as session:
        for r in session.execute(
            select(ranked).where(ranked.c.position <= per_asset).order_by(ranked.c.asset_id, ranked.c.position)
        ):
            found[r.asset_id].append(
                AssetEventView(
                    id=r.id,
                    asset_id=r.asset_id,
                    timestamp=r.timestamp,
                    source_dag_id=r.source_dag_id,
                    source_task_id=r.source_task_id,
                    source_run_id=r.source_run_id,
                    source_map_index=r.source_map_index,
                    partition_key=getattr(r, "partition_key", None),  # partitions came in Airflow 3.2
                    extra=r.extra if isinstance(r.extra, dict) else {},
                )
            )
    return found
