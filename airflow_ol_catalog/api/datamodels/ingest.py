"""Answers of the ingestion endpoints, the raw event list and the health check."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer


class EventReceipt(Answer):
    eventId: int = Field(description="Id of the event in the catalog's event log.")
    namespace: str = Field(description="The namespace the event belongs to (job namespace, or dataset namespace).")
    duplicate: bool = Field(description="True when the same event (same canonical JSON) was stored before.")
    quarantined: bool = Field(
        description="True when the namespace is not registered and the event waits in quarantine."
    )
    kind: Literal["run", "dataset", "job"]
    eventType: str | None
    runId: str | None


class FailedEvent(Answer):
    index: int = Field(description="Position of the event in the request array.")
    reason: str
    retriable: bool = Field(description="True when sending the same event again later may succeed.")


class BatchSummary(Answer):
    received: int
    successful: int
    duplicates: int
    failed: int


class BatchResult(Answer):
    status: Literal["success", "partial_success", "failure"]
    summary: BatchSummary
    failed_events: list[FailedEvent]


class EventsPage(Answer):
    events: list[dict[str, Any]] = Field(description="Raw OpenLineage events, as stored (canonical JSON).")
    totalCount: int


class EventLogHealth(Answer):
    """Empty when the database cannot be read or is not migrated."""

    lastEventReceivedAt: str | None = Field(None, description="When the newest event arrived (ISO 8601), null if none.")
    quarantinedEvents: int | None = Field(None, description="Events waiting in quarantine for their namespace.")


class Health(Answer):
    status: Literal["healthy", "unhealthy"]
    database: str = Field(description="`reachable`, or `unreachable: ` and the error's type.")
    migrations: str = Field(description="`current`, or the revision the database is at and the one expected.")
    eventLog: EventLogHealth = Field(default_factory=EventLogHealth)
