"""Catalog administration over HTTP, for the admin pages and the maintenance DAGs.

Routes that only talk to the database are plain functions, which FastAPI runs on its thread
pool: on the event loop a locked SQLite database would stop every route of the API server.

Auth: an Airflow login allowed to delete assets (Admin, Op), or a token created with --admin.
An admin token may create only tokens without admin: a leaked one cannot mint its successors.
"""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from airflow_ol_catalog.api.assets import emit_in_background
from airflow_ol_catalog.api.auth import AdminAuth, Principal, token_cache
from airflow_ol_catalog.api.datamodels.admin import (
    AdminNamespace,
    AdminNamespaceList,
    CreatedToken,
    Discarded,
    QuarantinedEvent,
    QuarantineList,
    Reconciliation,
    RefusalList,
    RefusedRequest,
    Replayed,
    RetentionResult,
    StoredChecks,
    TokenInfo,
    TokenList,
)
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.schemas import Limit, Offset, RowId, Text
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.ingest import namespaces as registry
from airflow_ol_catalog.ingest.quarantine import (
    QUARANTINE_SORTS,
    discard_quarantined,
    list_quarantined,
    replay_quarantined,
)
from airflow_ol_catalog.ingest.tokens import (
    MAX_TOKEN_NAME,
    TOKEN_SORTS,
    Token,
    TokenError,
    TokenExists,
    count_tokens,
    create_token,
    list_tokens,
    revoke_token,
)
from airflow_ol_catalog.ingest.writer import told_transaction
from airflow_ol_catalog.lineage.catalog import namespace_view
from airflow_ol_catalog.lineage.refusals import REFUSAL_SORTS, list_refusals
from airflow_ol_catalog.store import namespaces as namespace_rows
from airflow_ol_catalog.store.engine import get_engine, read_connection, write_transaction

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


def _by(principal: Principal) -> str:
    return principal.user_name or principal.name


# --- tokens ----------------------------------------------------------------------------------------


class NewToken(BaseModel):
    name: Text = Field(
        min_length=1, max_length=MAX_TOKEN_NAME, description="A name that says who sends with it, e.g. `spark-prod`."
    )
    namespaces: list[Text] | None = Field(
        None, description="Only these namespaces (at least one); omit it for every namespace. An empty list is refused."
    )
    read: bool = Field(False, description="Also read the catalog's API with it.")
    admin: bool = Field(
        False,
        description="Also call the admin API (the maintenance DAGs' token); implies read. Only an Airflow login may create one.",
    )


def token_view(t: Token) -> TokenInfo:
    return TokenInfo(
        name=t.name,
        prefix=t.prefix,
        namespaces=list(t.namespaces) if t.namespaces is not None else None,
        read=t.can_read,
        admin=t.can_admin,
        createdAt=iso(t.created_at),
        createdBy=t.created_by,
        lastUsedAt=iso(t.last_used_at),
        revokedAt=iso(t.revoked_at),
    )


def _errors(described: dict[int, str]) -> dict[int | str, dict]:
    """The error answers a route documents besides 401, 403 (document_auth) and 422 (document_errors)."""
    return {status: {"model": ErrorBody, "description": text} for status, text in described.items()}


@router.get("/tokens", summary="Ingest tokens (admin)")
def tokens(
    _: AdminAuth,
    includeRevoked: bool = Query(False),
    limit: int = Limit,
    offset: int = Offset,
    sortBy: Literal[tuple(TOKEN_SORTS)] = Query("name"),  # type: ignore[valid-type]  # the sort keys, read at run time for the OpenAPI enum
    sortDirection: Literal["asc", "desc"] = Query("asc"),
) -> TokenList:
    with read_connection() as conn:
        found = list_tokens(conn, includeRevoked, limit, offset, sortBy, sortDirection == "desc")
        return TokenList(tokens=[token_view(t) for t in found], totalCount=count_tokens(conn, includeRevoked))


@router.post(
    "/tokens",
    status_code=201,
    summary="Create an ingest token; its secret is in this answer only (admin)",
    responses=_errors({409: "A token of that name exists."}),
)
def new_token(body: NewToken, principal: AdminAuth) -> CreatedToken:
    if body.admin and principal.token is not None:
        raise HTTPException(
            403,
            f"admin: token {principal.token.name!r} may create only tokens without admin; an admin token needs an Airflow "
            "login allowed to delete assets (or `airflow ol-catalog tokens create --admin`)",
        )
    try:
        with write_transaction() as conn:
            created, secret = create_token(conn, body.name, _by(principal), body.namespaces, body.read, body.admin)
    except TokenExists as exc:
        raise HTTPException(409, f"{exc.field}: {exc}") from None
    except TokenError as exc:
        raise HTTPException(422, f"{exc.field}: {exc}") from None
    return CreatedToken(token=token_view(created), secret=secret)


@router.post(
    "/tokens/{name:name}/revoke",
    summary="Revoke an ingest token (admin)",
    responses=_errors({404: "No token of that name."}),
)
def revoke(name: str, _: AdminAuth) -> TokenInfo:
    with write_transaction() as conn:
        revoked = token_view(revoke_token(conn, name))
    token_cache.clear()  # in this process at once; other processes within TOKEN_CACHE_SECONDS
    return revoked


# --- namespaces ------------------------------------------------------------------------------------


class NewNamespace(BaseModel):
    name: Text = Field(min_length=1, max_length=1024)
    description: Text = Field("", max_length=10_000)
    admins: list[Text] = Field(default_factory=list, description="Airflow user names")


class NamespaceChange(BaseModel):
    description: Text | None = Field(None, max_length=10_000)
    admins: list[Text] | None = None


def _admin_view(ns: namespace_rows.Namespace) -> AdminNamespace:
    return AdminNamespace(**namespace_view(ns), deletedAt=iso(ns.deleted_at), quarantinedEvents=ns.quarantined_count)


@router.get(
    "/namespaces",
    summary="Namespaces, deleted ones too, with quarantined counts (admin)",
)
def all_namespaces(
    _: AdminAuth,
    limit: int = Limit,
    offset: int = Offset,
    sortBy: Literal[tuple(namespace_rows.NAMESPACE_SORTS)] = Query("name"),  # type: ignore[valid-type]  # the sort keys, read at run time for the OpenAPI enum
    sortDirection: Literal["asc", "desc"] = Query("asc"),
) -> AdminNamespaceList:
    with read_connection() as conn:
        items, total = namespace_rows.list_namespaces(conn, limit, offset, True, sortBy, sortDirection == "desc")
        for ns in items:
            ns.quarantined_count = namespace_rows.count_quarantined(conn, ns.name)
        return AdminNamespaceList(namespaces=[_admin_view(ns) for ns in items], totalCount=total)


@router.post(
    "/namespaces",
    status_code=201,
    summary="Create a namespace (admin)",
    responses=_errors({409: "A namespace of that name exists."}),
)
def create(body: NewNamespace, principal: AdminAuth) -> AdminNamespace:
    try:
        with write_transaction() as conn:
            return _admin_view(
                registry.create_namespace(conn, body.name, _by(principal), body.description, body.admins)
            )
    except registry.NamespaceExists as exc:
        raise HTTPException(409, str(exc)) from None
    except registry.NamespaceInvalid as exc:
        raise HTTPException(422, str(exc)) from None


@router.patch(
    "/namespaces/{name:name}",
    summary="Change a namespace's description or admins (admin)",
    responses=_errors({404: "No namespace of that name."}),
)
def change(name: str, body: NamespaceChange, _: AdminAuth) -> AdminNamespace:
    with write_transaction() as conn:
        return _admin_view(registry.update_namespace(conn, name, body.description, body.admins))


# --- quarantine ------------------------------------------------------------------------------------


class QuarantineAction(BaseModel):
    namespace: Text | None = Field(None, description="Only this namespace's events.")
    eventIds: list[RowId] | None = Field(None, description="Only these events (discard only).")


def _quarantined_view(q) -> QuarantinedEvent:
    return QuarantinedEvent(
        eventId=q.event_id,
        namespace=q.namespace,
        receivedAt=iso(q.received_at),
        kind=q.kind,
        eventType=q.event_type,
        jobName=q.job_name,
        runId=q.run_id,
    )


@router.get(
    "/quarantine",
    summary="Quarantined events: their namespace does not exist or is deleted (admin)",
)
def quarantine(
    _: AdminAuth,
    namespace: str | None = None,
    limit: int = Limit,
    offset: int = Offset,
    sortBy: Literal[tuple(QUARANTINE_SORTS)] = Query("receivedAt"),  # type: ignore[valid-type]  # the sort keys, read at run time for the OpenAPI enum
    sortDirection: Literal["asc", "desc"] = Query("asc"),
) -> QuarantineList:
    with read_connection() as conn:
        items = list_quarantined(conn, namespace, limit, offset, sortBy, sortDirection == "desc")
        total = namespace_rows.count_quarantined(conn, namespace)
    return QuarantineList(events=[_quarantined_view(q) for q in items], totalCount=total)


@router.post(
    "/quarantine/replay",
    summary="Move quarantined events whose namespace now exists into the catalog (admin)",
)
async def replay(body: QuarantineAction, _: AdminAuth, request: Request) -> Replayed:
    policy = request.app.state.settings.unknown_namespace_policy

    def run() -> dict[str, int]:
        with told_transaction(get_engine()) as conn:  # the replayed nodes' views are built ahead
            return dict(replay_quarantined(conn, body.namespace, policy))

    replayed = await anyio.to_thread.run_sync(run)
    emit_in_background()  # writes of the replayed events to marked datasets become asset events now
    return Replayed(replayed=replayed, total=sum(replayed.values()))


@router.post(
    "/quarantine/discard",
    summary="Delete quarantined events (admin)",
    responses=_errors({422: "Neither namespace nor eventIds was given, or a field is invalid (`detail` says which)."}),
)
def discard(body: QuarantineAction, _: AdminAuth) -> Discarded:
    if body.namespace is None and body.eventIds is None:
        raise HTTPException(422, "namespace or eventIds: say which quarantined events to discard")
    with write_transaction() as conn:
        return Discarded(discarded=discard_quarantined(conn, body.namespace, body.eventIds))


# --- refused requests ------------------------------------------------------------------------------


@router.get(
    "/refusals",
    summary="Refused requests to the ingestion endpoints, newest first (admin)",
)
def refusals(
    _: AdminAuth,
    reason: str | None = None,
    limit: int = Limit,
    offset: int = Offset,
    sortBy: Literal[tuple(REFUSAL_SORTS)] = Query("at"),  # type: ignore[valid-type]  # the sort keys, read at run time for the OpenAPI enum
    sortDirection: Literal["asc", "desc"] = Query("desc"),
) -> RefusalList:
    with read_connection() as conn:
        rows, total = list_refusals(conn, limit, offset, reason, sortBy, sortDirection == "desc")
    return RefusalList(
        refusals=[
            RefusedRequest(
                at=iso(r.at),
                status=r.status,
                reason=r.reason,
                detail=r.detail,
                path=r.path,
                caller=r.caller,
                remote=r.remote,
            )
            for r in rows
        ],
        totalCount=total,
    )


# --- data sources (the reconcile DAG) ----------------------------------------------------------------


class TableCheck(BaseModel):
    namespace: Text
    name: Text
    status: Literal["ok", "missing", "drifted", "error"]
    evidence: dict = Field(default_factory=dict, description="missing/extra/changed columns, or the error")
    connId: Text | None = Field(
        None, description="The Connection the table was read through: stored only if the dataset still matches it."
    )


class TableChecks(BaseModel):
    checks: list[TableCheck]


@router.post(
    "/reconciliation/match",
    summary="Match every dataset to the data sources Airflow's Connections describe (admin)",
)
async def reconcile_datasets(
    _: AdminAuth, dryRun: bool = Query(False, description="Report without storing anything.")
) -> Reconciliation:
    """Returns counts, the matched SQL datasets to check against their tables, and the namespaces no Connection matches."""
    from airflow_ol_catalog.ingest.source_matches import reconcile
    from airflow_ol_catalog.lineage.airflow_connections import airflow_data_sources

    sources = await anyio.to_thread.run_sync(airflow_data_sources)

    def work() -> dict:
        if dryRun:
            with read_connection() as conn:
                return reconcile(conn, sources, True)
        with write_transaction() as conn:
            return reconcile(conn, sources, False)

    return Reconciliation.model_validate(await anyio.to_thread.run_sync(work))


@router.post("/reconciliation/checks", summary="Store how matched datasets compare with their tables (admin)")
def store_checks(body: TableChecks, _: AdminAuth) -> StoredChecks:
    from airflow_ol_catalog.ingest.source_matches import record_checks

    with write_transaction() as conn:
        return StoredChecks(stored=record_checks(conn, [c.model_dump() for c in body.checks]))


# --- retention (the retention DAG) -------------------------------------------------------------------


class Retention(BaseModel):
    days: int = Field(90, ge=1, le=36_500, description="Keep what was seen in the last this many days.")
    keepRunsPerJob: int = Field(
        10, ge=0, le=1_000_000, description="Keep at least this many newest runs of every job, however old."
    )
    dryRun: bool = Field(False, description="Count, delete nothing.")


@router.post("/retention", summary="Delete raw events and runs older than the window, in bounded batches (admin)")
async def retention(body: Retention, _: AdminAuth) -> RetentionResult:
    from airflow_ol_catalog.ingest.retention import apply_retention
    from airflow_ol_catalog.store.engine import get_engine

    return RetentionResult.model_validate(
        await anyio.to_thread.run_sync(apply_retention, get_engine(), body.days, body.keepRunsPerJob, body.dryRun)
    )
