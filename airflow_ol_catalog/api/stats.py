"""Marquez's /stats routes under /api/v1/stats/..., as its web UI's dashboard reads them.

The catalog's own counts are `GET /api/v1/stats` (api/catalog.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import anyio
from fastapi import APIRouter, HTTPException, Query

from airflow_ol_catalog.api.auth import ReadAuth
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.datamodels.graph import IntervalMetric, LineageMetric
from airflow_ol_catalog.api.schemas import time_zone_parameter
from airflow_ol_catalog.lineage import stats
from airflow_ol_catalog.store.engine import read_connection
from airflow_ol_catalog.store.sql import utcnow

BAD_PERIOD = "`period` is not DAY or WEEK, or `timezone` is missing with WEEK or names no IANA time zone."
router = APIRouter(
    prefix="/api/v1/stats", tags=["catalog"], responses={422: {"model": ErrorBody, "description": BAD_PERIOD}}
)

Period = Query(
    ..., description="`DAY`: the last 24 hours, hour by hour (UTC). `WEEK`: the last 7 days of `timezone`, day by day."
)
TimeZone = Query(
    None, max_length=100, description="IANA time zone whose days `WEEK` counts (`Europe/Berlin`); required with it."
)


async def _counted(count: Callable, period: str, timezone: str | None) -> list[dict]:
    zone = time_zone_parameter(timezone, "timezone")
    if period == "WEEK" and zone is None:
        raise HTTPException(422, "query parameter timezone: required with period=WEEK (e.g. timezone=Europe/Berlin)")
    spans = stats.intervals(period, zone, utcnow())

    def run():
        with read_connection() as conn:
            return count(conn, spans)

    return await anyio.to_thread.run_sync(run)


@router.get("/lineage-events", summary="Run events by type (START, COMPLETE, FAIL, ABORT), per hour or per day")
async def lineage_events(
    _: ReadAuth, period: Literal[stats.PERIODS] = Period, timezone: str | None = TimeZone
) -> list[LineageMetric]:
    """Counted by event time; events waiting in quarantine are not counted."""
    return await _counted(stats.lineage_events, period, timezone)


@router.get("/jobs", summary="How many jobs there were at the end of each hour or day")
async def jobs(
    _: ReadAuth, period: Literal[stats.PERIODS] = Period, timezone: str | None = TimeZone
) -> list[IntervalMetric]:
    """Jobs seen in events (a job named only as a parent is not counted), not hidden, by when first seen."""
    return await _counted(stats.jobs, period, timezone)


@router.get("/datasets", summary="How many datasets there were at the end of each hour or day")
async def datasets(
    _: ReadAuth, period: Literal[stats.PERIODS] = Period, timezone: str | None = TimeZone
) -> list[IntervalMetric]:
    """Datasets not hidden and not an alias of another, by when first seen."""
    return await _counted(stats.datasets, period, timezone)


@router.get("/sources", summary="How many sources there were at the end of each hour or day")
async def sources(
    _: ReadAuth, period: Literal[stats.PERIODS] = Period, timezone: str | None = TimeZone
) -> list[IntervalMetric]:
    """A source is a `dataSource` facet's name (else a dataset namespace), first seen with its first dataset."""
    return await _counted(stats.sources, period, timezone)
