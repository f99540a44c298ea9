"""Answers of the admin API: tokens, namespaces, quarantine, refused requests, reconciliation, retention."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer

# --- tokens ----------------------------------------------------------------------------------------


class TokenInfo(Answer):
    """An ingest token as the catalog keeps it: never its secret, which only the creating answer holds."""

    name: str
    prefix: str = Field(description="The secret's first characters, to tell tokens apart in logs and settings.")
    namespaces: list[str] | None = Field(description="The namespaces it may send to; null for every namespace.")
    read: bool = Field(description="It may also read the catalog's API.")
    admin: bool = Field(description="It may also call the admin API.")
    createdAt: str | None = Field(description="ISO 8601, UTC.")
    createdBy: str = Field(description="Who created it: an Airflow user, a token, or the command line.")
    lastUsedAt: str | None = Field(description="When it last authenticated a request (ISO 8601), null if never.")
    revokedAt: str | None = Field(description="When it was revoked (ISO 8601), null while it works.")


class TokenList(Answer):
    tokens: list[TokenInfo]
    totalCount: int = Field(description="How many tokens there are in all (revoked ones only with includeRevoked).")


class CreatedToken(Answer):
    token: TokenInfo
    secret: str = Field(description="The token itself (`olc_...`); shown in this answer only, stored as a hash.")


# --- namespaces ------------------------------------------------------------------------------------


class AdminNamespace(Answer):
    """A registered namespace with what only administrators see: when it was deleted and what waits for it."""

    name: str
    createdAt: str | None = Field(description="ISO 8601, UTC.")
    updatedAt: str | None = Field(description="Its last event, else its creation (ISO 8601).")
    ownerName: str = Field(description="Its first admin, empty when it has none.")
    description: str | None
    isHidden: bool = Field(description="True when it is deleted (hidden) and its events go to quarantine.")
    registered: bool = Field(description="Always true here: the admin API lists registered namespaces only.")
    admins: list[str] = Field(description="Airflow user names.")
    integrations: list[str] = Field(description="Producers seen sending to it (`AIRFLOW`, `SPARK`, `DBT`, ...).")
    eventCount: int
    firstEventAt: str | None
    lastEventAt: str | None
    deletedAt: str | None = Field(description="When it was deleted (ISO 8601), null while it is live.")
    quarantinedEvents: int = Field(description="Events waiting in quarantine for this namespace.")


class AdminNamespaceList(Answer):
    namespaces: list[AdminNamespace]
    totalCount: int


# --- quarantine ------------------------------------------------------------------------------------


class QuarantinedEvent(Answer):
    eventId: int = Field(description="Id of the event in the catalog's event log.")
    namespace: str
    receivedAt: str | None = Field(description="ISO 8601, UTC.")
    kind: Literal["run", "dataset", "job"]
    eventType: str | None = Field(description="A RunEvent's eventType; null for dataset and job events.")
    jobName: str | None
    runId: str | None


class QuarantineList(Answer):
    events: list[QuarantinedEvent]
    totalCount: int


class Replayed(Answer):
    replayed: dict[str, int] = Field(description="Events moved into the catalog, per namespace.")
    total: int


class Discarded(Answer):
    discarded: int = Field(description="How many quarantined events were deleted.")


# --- refused requests ------------------------------------------------------------------------------


class RefusedRequest(Answer):
    at: str | None = Field(description="ISO 8601, UTC.")
    status: int = Field(description="The HTTP status the request was answered.")
    reason: str = Field(description="The status in words (`invalid event`, `no or unknown token`, `too large`, ...).")
    detail: str = Field(description="The message the producer was answered.")
    path: str
    caller: str | None = Field(description="`token:NAME` or `user:NAME` when the request authenticated.")
    remote: str | None = Field(description="The client's address.")


class RefusalList(Answer):
    refusals: list[RefusedRequest]
    totalCount: int


# --- reconciliation --------------------------------------------------------------------------------


class MatchCounts(Answer):
    matched: int
    unmatched: int
    ambiguous: int


class TableToCheck(Answer):
    """A dataset matched to a SQL Connection, for the reconcile DAG to compare with its table."""

    namespace: str
    name: str
    connId: str
    scheme: str
    fields: list[dict[str, Any]] = Field(description="The fields of its newest schema facet, as sent.")


class NamespaceMatch(Answer):
    namespace: str
    status: Literal["unmatched", "ambiguous"]
    candidates: list[str] = Field(
        description="ambiguous: the Connections it could be; unmatched: Connections of the same kind."
    )
    suggestion: str | None = Field(description="What to add to which Connection's aliases.")


class Reconciliation(Answer):
    dryRun: bool
    counts: MatchCounts = Field(description="Datasets by how they matched.")
    toCheck: list[TableToCheck]
    namespaces: list[NamespaceMatch] = Field(description="Namespaces no Connection matches, or several do.")


class StoredChecks(Answer):
    stored: int = Field(description="How many dataset matches took a check (a name may be several aliases).")


# --- retention -------------------------------------------------------------------------------------


class RetentionResult(Answer):
    dryRun: bool
    runs: int = Field(description="Runs deleted (or that would be, in a dry run).")
    events: int = Field(description="Raw events deleted (or that would be, in a dry run).")
    months: int = Field(
        description="Months of the event log among them dropped whole (or that would be), on PostgreSQL, whose "
        "log is partitioned by month; always 0 on SQLite."
    )
    seconds: float = Field(description="How long it took.")
