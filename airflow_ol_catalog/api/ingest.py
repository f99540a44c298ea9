"""POST /api/v1/lineage and /api/v1/lineage/batch: where producers send OpenLineage events."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from airflow_ol_catalog.api.assets import emit_in_background
from airflow_ol_catalog.api.auth import IngestAuth, Principal
from airflow_ol_catalog.api.body import decode_body, off_the_loop_if_large, read_body
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.api.datamodels.ingest import BatchResult, EventReceipt
from airflow_ol_catalog.config import CatalogSettings
from airflow_ol_catalog.events import BodyError, EventInvalid, Problem, metrics, validate_event
from airflow_ol_catalog.events.collector import collector_paused
from airflow_ol_catalog.ingest.event_log import Receipt, Refusal, Submission
from airflow_ol_catalog.ingest.refusals import refusal_log
from airflow_ol_catalog.ingest.writer import CatalogUnavailable, EventWriter, get_writer
from airflow_ol_catalog.store.engine import get_engine
from airflow_ol_catalog.store.sql import utcnow

RETRY_AFTER_SECONDS = "5"

router = APIRouter(tags=["ingest"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not readable JSON (the message says where)."},
    401: {"model": ErrorBody, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The token may not send events to this namespace."},
    413: {"model": ErrorBody, "description": "The body is over `[ol_catalog] max_body_bytes`."},
    415: {"model": ErrorBody, "description": "The body is not JSON, or uses an unsupported Content-Encoding."},
    422: {"model": ErrorBody, "description": "Not a valid OpenLineage event; `errors` lists each problem."},
    503: {"model": ErrorBody, "description": "The database is momentarily unavailable; retry after `Retry-After`."},
}


def _settings(request: Request) -> CatalogSettings:
    return request.app.state.settings


def _invalid(problems) -> HTTPException:
    detail = "not a valid OpenLineage event: " + "; ".join(f"{p.path}: {p.message}" for p in problems[:5])
    return HTTPException(422, {"detail": detail, "errors": [p.as_dict() for p in problems]})


def _unavailable(exc: CatalogUnavailable) -> HTTPException:
    return HTTPException(
        503,
        f"the catalog database is momentarily unavailable, nothing was stored: {exc}",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _latest_event_time(settings: CatalogSettings) -> datetime:
    return utcnow() + timedelta(seconds=settings.max_future_seconds)


def _submission(payload: Any, principal: Principal, max_depth: int, latest: datetime) -> Submission:
    """Validate one decoded event for this caller; raise HTTPException with the status it deserves."""
    try:
        ol_event = validate_event(payload, latest)
    except EventInvalid as exc:
        raise _invalid(exc.problems) from None
    scope = principal.scope
    if scope is not None and not scope.allows_owner(ol_event):
        raise HTTPException(403, f"{principal.name} may not send events to namespace {ol_event.owner_namespace!r}")
    try:
        return Submission.of(ol_event, principal.token_id, max_depth, scope)
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from None
    except EventInvalid as exc:  # the copy the catalog reads, with NUL replaced, must be valid too
        raise _invalid(exc.problems) from None


def _writer(request: Request) -> EventWriter:
    return get_writer(get_engine(), _settings(request).unknown_namespace_policy)


async def _store(writer: EventWriter, submissions: list[Submission]) -> list[Receipt | Refusal]:
    started = time.perf_counter()
    try:
        outcomes = await writer.write(submissions)
    except CatalogUnavailable as exc:
        raise _unavailable(exc) from None
    metrics.timing("ingest.latency", (time.perf_counter() - started) * 1000)
    counts = Counter(
        "refused"
        if isinstance(o, Refusal)
        else "duplicate"
        if o.duplicate
        else "quarantined"
        if o.quarantined
        else "accepted"
        for o in outcomes
    )
    for outcome, count in counts.items():
        metrics.incr(f"events.{outcome}", count)
    emit_in_background()  # writes to marked datasets become Airflow asset events, after the answer
    return outcomes


async def post_event(request: Request, principal: IngestAuth) -> EventReceipt | JSONResponse:
    """Store one OpenLineage event (RunEvent, DatasetEvent or JobEvent), sent as the raw JSON body.

    Send it with `Authorization: Bearer olc_...`. The answer is sent after the event is committed. Re-sending an event that is already stored
    answers 201 with `duplicate: true` and stores nothing.
    """
    settings, writer = _settings(request), _writer(request)
    # Announced while its body is read, so a commit starting meanwhile takes this event too.
    with writer.announced():
        raw = await read_body(request, settings.max_body_bytes)
        latest = _latest_event_time(settings)
        submission = await off_the_loop_if_large(
            raw, lambda: _submission(decode_body(raw), principal, settings.max_json_depth, latest)
        )
    outcome = (await _store(writer, [submission]))[0]
    if isinstance(outcome, Refusal):
        raise HTTPException(
            outcome.status, outcome.reason, headers={"Retry-After": RETRY_AFTER_SECONDS} if outcome.retriable else None
        )
    return JSONResponse(outcome.as_dict(), status_code=201)


def _checked_batch(
    payload: Any, principal: Principal, settings: CatalogSettings, latest: datetime
) -> tuple[int, list[dict], list[Submission], list[int]]:
    """A batch's events checked one by one: (how many, the refused ones, the submissions and their indexes)."""
    if not isinstance(payload, list):
        raise _invalid([Problem("$", "expected a JSON array of events (send single events to /api/v1/lineage)")])
    if len(payload) > settings.max_batch_events:
        raise HTTPException(
            413,
            f"the batch holds {len(payload)} events, more than the limit of {settings.max_batch_events} ([ol_catalog] max_batch_events); split it",
        )
    failed: list[dict] = []
    submissions: list[Submission] = []
    indexes: list[int] = []
    with collector_paused():
        for index, item in enumerate(payload):
            try:
                submissions.append(_submission(item, principal, settings.max_json_depth, latest))
                indexes.append(index)
            except HTTPException as exc:
                reason = exc.detail["detail"] if isinstance(exc.detail, dict) else exc.detail
                failed.append({"index": index, "reason": reason, "retriable": False})
    return len(payload), failed, submissions, indexes


async def _stored_batch(
    request: Request, raw: bytes, principal: Principal, settings: CatalogSettings
) -> tuple[int, list[dict], list[tuple[int, Receipt | Refusal]]]:
    """A batch decoded, checked and stored: (how many events, the refused ones, each stored one's index and outcome)."""
    latest = _latest_event_time(settings)
    received, failed, submissions, indexes = await off_the_loop_if_large(
        raw, lambda: _checked_batch(decode_body(raw), principal, settings, latest)
    )
    outcomes = await _store(_writer(request), submissions) if submissions else []
    return received, failed, list(zip(indexes, outcomes, strict=False))


async def post_batch(request: Request, principal: IngestAuth) -> JSONResponse:
    """Store a JSON array of OpenLineage events; each is accepted or refused on its own.

    As OpenLineage's API answers a batch: 200 with `success` when every event was stored (or was a
    duplicate; an empty batch too), 200 with `partial_success` when some failed (`failed_events` gives each one's
    index, reason and whether a retry can help); 422 with `failure` when none could be stored.
    Stored events are committed even when others fail.
    """
    settings = _settings(request)
    raw = await read_body(request, settings.max_body_bytes)
    # The decoded events live until they are stored and then die with `_stored_batch`'s frame, all
    # while the collector is paused (no collection walks them; events/collector.py).
    with collector_paused():
        received, failed, stored = await _stored_batch(request, raw, principal, settings)
    duplicates = 0
    warnings = []
    for index, outcome in stored:
        if isinstance(outcome, Refusal):
            failed.append({"index": index, "reason": outcome.reason, "retriable": outcome.retriable})
            continue
        duplicates += outcome.duplicate
        warnings += [{"index": index, **w.as_dict()} for w in outcome.warnings]
    failed.sort(key=lambda item: item["index"])
    for item in failed:
        refusal_log.record(
            422,
            f"batch event {item['index']}: {item['reason']}",
            request.url.path,
            principal.name,
            request.client.host if request.client else None,
        )
    successful = received - len(failed)
    status = "success" if not failed else "partial_success" if successful else "failure"
    body = BatchResult.model_validate(
        {
            "status": status,
            "summary": {
                "received": received,
                "successful": successful,
                "duplicates": duplicates,
                "failed": len(failed),
                "retriable": sum(1 for item in failed if item["retriable"]),
                "non_retriable": sum(1 for item in failed if not item["retriable"]),
            },
            "failed_events": failed,
            "warnings": warnings,
        }
    )
    code = 200 if successful or not failed else 422  # an empty batch: nothing failed, nothing to store
    return JSONResponse(body.model_dump(), status_code=code)


_SINGLE_PATHS = (
    ("/api/v1/lineage", True),
    # Paths that producers already configured for other catalogs use, served under our prefix.
    ("/events/openlineage/generic-openlineage/api/v1/lineage", False),
    ("/open_lineage_event/", False),
)
for _path, _documented in _SINGLE_PATHS:
    router.add_api_route(
        _path,
        post_event,
        methods=["POST"],
        status_code=201,
        response_model=EventReceipt,
        responses=_ERRORS,
        include_in_schema=_documented,
        summary="Send one OpenLineage event",
        operation_id="post_event" if _documented else None,
    )
router.add_api_route(
    "/api/v1/lineage/batch",
    post_batch,
    methods=["POST"],
    response_model=BatchResult,
    responses={
        **_ERRORS,
        422: {
            "model": BatchResult | ErrorBody,
            "description": "No event could be stored (`failed_events` says why), or the body is not an array.",
        },
    },
    summary="Send an array of OpenLineage events",
)

# Every path of the ingestion routes, as the app routes them.
INGEST_PATHS = frozenset({path for path, _ in _SINGLE_PATHS} | {"/api/v1/lineage/batch"})
