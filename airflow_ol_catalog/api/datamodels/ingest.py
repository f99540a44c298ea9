"""Answers of the ingestion endpoints, the raw event list and the health check."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer, Problem


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
    warnings: list[Problem] = Field(
        description="Facets that break their published schema, each with the field and the problem: the event is "
        "stored as sent; a facet the catalog shows whole (ownership, SQL, ...) is then not used."
    )


class FailedEvent(Answer):
    index: int = Field(description="Position of the event in the request array.")
    reason: str
    retriable: bool = Field(description="True when sending the same event again later may succeed.")


class BatchSummary(Answer):
    received: int
    successful: int = Field(description="Stored, or stored before (duplicates count as successful).")
    duplicates: int = Field(description="Of the successful, those stored before (an addition to the spec's answer).")
    failed: int
    retriable: int = Field(description="Of the failed, those that may be stored if sent again later.")
    non_retriable: int = Field(description="Of the failed, those that will be refused again as they are.")


class BatchWarning(Answer):
    index: int = Field(description="Position of the event in the request array.")
    path: str
    message: str


class BatchResult(Answer):
    """The answer of OpenLineage's `POST /lineage/batch` (spec/OpenLineage.yml), with `duplicates` added."""

    status: Literal["success", "partial_success", "failure"] = Field(
        description="`success` (200), `partial_success` (200, some failed), or `failure` (422: none could be stored; "
        "the spec has no status for it)."
    )
    summary: BatchSummary
    failed_events: list[FailedEvent]
    warnings: list[BatchWarning] = Field(
        description="Facets of stored events that break their published schema (an addition to the spec's answer)."
    )


class EventsPage(Answer):
    events: list[dict[str, Any]] = Field(description="Raw OpenLineage events, as stored (canonical JSON).")
    totalCount: int


class EventLogHealth(Answer):
    """Empty when the database cannot be read or is not migrated."""

    lastEventReceivedAt: str | None = Field(
        None,
        description="When the newest event arrived (ISO 8601), null if none; deleting it since does not change this.",
    )
    quarantinedEvents: int | None = Field(None, description="Events waiting in quarantine for their namespace.")


class Health(Answer):
    status: Literal["healthy", "unhealthy"]
    database: str = Field(
        description="`reachable`; `unreachable: ` and the error's type, or that it did not answer in time; or `read-only: ...`."
    )
    migrations: str = Field(description="`current`, or the revision the database is at and the one expected.")
    eventLog: EventLogHealth = Field(default_factory=EventLogHealth)
