"""GET /health: is the catalog able to work? (no auth, reveals no data)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from airflow_ol_catalog.api.schemas import Health

router = APIRouter(tags=["health"])


def _check() -> tuple[str, str]:
    from alembic.migration import MigrationContext

    from airflow_ol_catalog.store.engine import get_engine
    from airflow_ol_catalog.store.migrate import VERSION_TABLE, head_revision

    try:
        with get_engine().connect() as conn:
            current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}", "unknown"
    head = head_revision()
    migrations = "current" if current == head else f"at {current or 'none'}, expected {head}: run `airflow db migrate`"
    return "reachable", migrations


@router.get("/health", response_model=Health, summary="Catalog health")
async def health() -> JSONResponse:
    """Auth: none. Database reachability and migration state; 503 when the catalog cannot work."""
    database, migrations = await anyio.to_thread.run_sync(_check)
    healthy = database == "reachable" and migrations == "current"
    body = {"status": "healthy" if healthy else "unhealthy", "database": database, "migrations": migrations}
    return JSONResponse(body, status_code=200 if healthy else 503)
