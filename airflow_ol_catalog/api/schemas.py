"""Response models: they make the OpenAPI document the API reference."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query
from pydantic import AfterValidator, BaseModel, Field

from airflow_ol_catalog.events.times import TimeInvalid, parse_time

# Paging, the same on every list. Offsets are bounded: the databases hold 64-bit integers at most.
MAX_OFFSET = 1_000_000_000
Limit = Query(100, ge=1, le=1000, description="How many to return (at most 1,000).")
Offset = Query(0, ge=0, le=MAX_OFFSET, description="How many to skip.")


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which the catalog cannot store")
    return value


# Text of a request body that the catalog stores in a column (PostgreSQL text cannot hold NUL).
Text = Annotated[str, AfterValidator(_without_nul)]


def time_parameter(value: str | None, name: str) -> datetime | None:
    """A query parameter holding an ISO 8601 time, read as event times are; 422 naming it otherwise."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except TimeInvalid as exc:
        raise HTTPException(422, f"query parameter {name}: {exc}") from None


class Problem(BaseModel):
    path: str = Field(description="Where in the event, e.g. `run.runId` or `inputs[0].name`; `$` is the whole event.")
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[Problem] | None = None


class EventReceipt(BaseModel):
    eventId: int = Field(description="Id of the event in the catalog's event log.")
    namespace: str = Field(description="The namespace the event belongs to (job namespace, or dataset namespace).")
    duplicate: bool = Field(description="True when the same event (same canonical JSON) was stored before.")
    quarantined: bool = Field(
        description="True when the namespace is not registered and the event waits in quarantine."
    )
    kind: Literal["run", "dataset", "job"]
    eventType: str | None
    runId: str | None


class FailedEvent(BaseModel):
    index: int = Field(description="Position of the event in the request array.")
    reason: str
    retriable: bool = Field(description="True when sending the same event again later may succeed.")


class BatchSummary(BaseModel):
    received: int
    successful: int
    duplicates: int
    failed: int


class BatchResult(BaseModel):
    status: Literal["success", "partial_success", "failure"]
    summary: BatchSummary
    failed_events: list[FailedEvent]


class EventsPage(BaseModel):
    events: list[dict[str, Any]] = Field(description="Raw OpenLineage events, as stored (canonical JSON).")
    totalCount: int


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    database: str
    migrations: str
    eventLog: dict[str, Any] = Field(
        default_factory=dict, description="lastEventReceivedAt, and quarantinedEvents waiting for their namespace"
    )
