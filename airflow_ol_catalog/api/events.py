"""GET /api/v1/events/lineage: the raw event log, in Marquez's shape."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import ColumnElement, func, select

from airflow_ol_catalog.api.auth import ReadAuth
from airflow_ol_catalog.api.datamodels.ingest import EventsPage
from airflow_ol_catalog.api.schemas import Limit, Offset, time_parameter
from airflow_ol_catalog.events.run_states import EventType
from airflow_ol_catalog.store.engine import get_engine, read_connection
from airflow_ol_catalog.store.event_tally import totals as event_totals
from airflow_ol_catalog.store.tables import event

router = APIRouter(tags=["events"])


# What `kind` takes: the log's kinds of event, and all of them.
EventKind = Literal["run", "dataset", "job", "all"]


def _page(
    before, after, filters: dict[str, str | None], descending: bool, limit: int, offset: int
) -> tuple[list[str], int]:
    """A page of stored events and how many match; `filters` are columns of the log and their values
    (None: any)."""
    conditions: list[ColumnElement[bool]] = [event.c.quarantined.is_(False)]
    if before is not None:
        conditions.append(event.c.event_time < before)
    if after is not None:
        conditions.append(event.c.event_time > after)
    conditions += [event.c[column] == value for column, value in filters.items() if value is not None]
    order = (event.c.event_time.desc(), event.c.id.desc()) if descending else (event.c.event_time, event.c.id)
    with read_connection(get_engine()) as conn:
        if len(conditions) == 1:  # the whole log: its tally counts it without reading it
            total = event_totals(conn)[0]
        else:
            total = conn.execute(select(func.count()).select_from(event).where(*conditions)).scalar_one()
        payloads = (
            conn.execute(select(event.c.payload).where(*conditions).order_by(*order).limit(limit).offset(offset))
            .scalars()
            .all()
        )
    return list(payloads), total


@router.get("/api/v1/events/lineage", response_model=EventsPage, summary="List raw OpenLineage events")
@router.get("/api/v1/events", response_model=EventsPage, include_in_schema=False)
async def list_events(
    _: ReadAuth,
    before: str | None = Query(None, description="Only events whose eventTime is before this ISO 8601 time."),
    after: str | None = Query(None, description="Only events whose eventTime is after this ISO 8601 time."),
    namespace: str | None = Query(None, description="Only events of this namespace."),
    runId: str | None = Query(None, description="Only events of this run."),
    job: str | None = Query(None, description="Only events of the job of this name (with `namespace`: that job)."),
    eventType: Annotated[EventType | None, Query(description="Only run events of this type.")] = None,
    producer: str | None = Query(None, description="Only events whose producer is this URI."),
    kind: Annotated[
        EventKind,
        Query(
            description="Which kind of event: RunEvents (`run`, as Marquez lists them: its web UI reads each "
            "event's run), DatasetEvents (`dataset`), JobEvents (`job`), or every kind (`all`)."
        ),
    ] = "run",
    sortDirection: Literal["asc", "desc"] = Query("desc"),
    limit: int = Limit,
    offset: int = Offset,
) -> Response:
    """Events as stored, newest first by default: RunEvents unless `kind` says otherwise, as
    Marquez lists them. Quarantined events are not listed."""
    payloads, total = await anyio.to_thread.run_sync(
        _page,
        time_parameter(before, "before"),
        time_parameter(after, "after"),
        {
            "namespace": namespace,
            "run_id": runId,
            "job_name": job,
            "event_type": eventType.value if eventType else None,
            "producer": producer,
            "kind": None if kind == "all" else kind,
        },
        sortDirection == "desc",
        limit,
        offset,
    )
    # The log holds canonical JSON already: splice it instead of decoding and encoding again.
    body = '{"events":[' + ",".join(payloads) + '],"totalCount":' + str(total) + "}"
    return Response(body, media_type="application/json")


@router.get("/api/v1/events/{namespace:unescaped_name}", response_model=EventsPage, include_in_schema=False)
async def list_namespace_events(
    namespace: str,
    auth: ReadAuth,
    before: str | None = None,
    after: str | None = None,
    sortDirection: Literal["asc", "desc"] = Query("desc"),
    limit: int = Limit,
    offset: int = Offset,
) -> Response:
    """The path Marquez's Python client uses for one namespace's events (same answer as `?namespace=`)."""
    return await list_events(
        auth,
        before,
        after,
        namespace,
        None,
        None,
        None,
        None,
        kind="run",
        sortDirection=sortDirection,
        limit=limit,
        offset=offset,
    )
