"""GET /health: is the catalog able to work? (no auth, reveals no data)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import Future, ThreadPoolExecutor

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from airflow_ol_catalog.api.datamodels.ingest import EventLogHealth, Health
from airflow_ol_catalog.events.times import iso

router = APIRouter(tags=["health"])

# A database that answers nothing within this (a frozen server, a table locked for a migration) is
# reported unreachable rather than keeping the check, and whatever polls it, waiting.
CHECK_SECONDS = 5.0
# One check at a time, on a thread of its own: requests meanwhile wait for the check under way,
# so a frozen database keeps one thread and one connection waiting, whoever polls how often.
_checkers: dict[int, ThreadPoolExecutor] = {}  # by process: a forked one has not its parent's thread
_running: dict[int, Future[tuple[str, str, dict]]] = {}  # by process: the check under way, or the last


def _check() -> tuple[str, str, dict]:
    from airflow_ol_catalog.store.engine import get_engine
    from airflow_ol_catalog.store.event_tally import last_received, totals
    from airflow_ol_catalog.store.migrate import current_revision, not_migrated

    log: dict = {}
    try:
        with get_engine().connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(CHECK_SECONDS * 1000)}")
                if conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
                    return (
                        "read-only: events cannot be stored (a standby, or default_transaction_read_only)",
                        "unknown",
                        log,
                    )
            problem = not_migrated(current_revision(conn))
            if problem is None:
                # Events are projected in the transaction that stores them: the only backlog is the
                # quarantine, waiting for namespaces to exist.
                last = last_received(conn)
                waiting = totals(conn)[1]
                log = {"lastEventReceivedAt": iso(last), "quarantinedEvents": waiting}
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}", "unknown", log
    return "reachable", problem or "current", log


@router.get(
    "/health",
    response_model=Health,
    summary="Catalog health",
    responses={
        503: {
            "model": Health,
            "description": "The database is unreachable, read-only or not migrated to this version.",
        }
    },
)
async def health() -> JSONResponse:
    """Database reachability and migration state; 503 when the catalog cannot work."""
    pid = os.getpid()
    running = _running.get(pid)
    if running is None or running.done():
        checker = _checkers.get(pid) or _checkers.setdefault(pid, ThreadPoolExecutor(1, "ol-catalog-health"))
        running = _running[pid] = checker.submit(_check)
    try:
        database, migrations, event_log = await asyncio.wait_for(
            asyncio.shield(asyncio.wrap_future(running)), CHECK_SECONDS
        )
    except asyncio.TimeoutError:
        database, migrations, event_log = f"unreachable: no answer within {CHECK_SECONDS:g} s", "unknown", {}
    healthy = database == "reachable" and migrations == "current"
    body = Health(
        status="healthy" if healthy else "unhealthy",
        database=database,
        migrations=migrations,
        eventLog=EventLogHealth(**event_log),
    )
    # Unset fields stay out: an unreadable event log is `{}`, a readable one without events says null.
    return JSONResponse(body.model_dump(exclude_unset=True), status_code=200 if healthy else 503)
