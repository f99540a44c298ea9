"""The log of refused ingestion requests: what producers got wrong, for admins and the overview.

Refusals are kept in memory and written in one statement about once a second, off the event
loop, so a flood of bad requests costs the database one small write a second, not one each.
At most MAX_PENDING wait; beyond that they are counted as dropped and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from datetime import timedelta

import anyio
from sqlalchemy import delete, insert
from sqlalchemy.exc import DBAPIError, OperationalError

from airflow_ol_catalog.store.engine import write_transaction
from airflow_ol_catalog.store.sql import utcnow
from airflow_ol_catalog.store.tables import refusal

log = logging.getLogger(__name__)

MAX_PENDING = 1000
FLUSH_SECONDS = 1.0
RETENTION_DAYS = 30
PRUNE_SECONDS = 3600

REASONS = {
    400: "unreadable body",
    401: "no or unknown token",
    403: "not allowed",
    413: "too large",
    415: "not JSON",
    422: "invalid event",
    503: "database unavailable",
}


def reason_of(status: int) -> str:
    return REASONS.get(status, "refused")


class RefusalLog:
    def __init__(self) -> None:
        self._pending: deque[dict] = deque()
        self._dropped = 0
        self._flushing = False
        self._pruned_at = 0.0

    def record(self, status: int, detail: str, path: str, caller: str | None, remote: str | None) -> None:
        """Note a refusal; call from the event loop. The write follows within FLUSH_SECONDS."""
        if len(self._pending) >= MAX_PENDING:
            self._dropped += 1
            return
        self._pending.append(
            {
                "at": utcnow(),
                "status": status,
                "reason": reason_of(status),
                "detail": _text(detail, 500),
                "path": _text(path, 250),
                "caller": _text(caller, 250),
                "remote": _text(remote, 64),
            }
        )
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, lambda: asyncio.ensure_future(self._flush()))

    async def _flush(self) -> None:
        rows = list(self._pending)
        self._pending.clear()
        dropped, self._dropped = self._dropped, 0
        prune = time.monotonic() - self._pruned_at > PRUNE_SECONDS
        try:
            await anyio.to_thread.run_sync(self._write, rows, prune)
            if prune:
                self._pruned_at = time.monotonic()
        except Exception as exc:  # the log is best effort: never fail a request over it
            log.warning("could not write %d refused requests to the log: %s", len(rows), exc)
        finally:
            self._flushing = False
        if dropped:
            log.warning("%d refused requests were not logged (more than %d a second)", dropped, MAX_PENDING)

    @staticmethod
    def _write(rows: list[dict], prune: bool) -> None:
        try:
            with write_transaction() as conn:
                if rows:
                    conn.execute(insert(refusal), rows)
                if prune:
                    conn.execute(delete(refusal).where(refusal.c.at < utcnow() - timedelta(days=RETENTION_DAYS)))
        except DBAPIError as exc:
            if len(rows) < 2 or isinstance(exc, OperationalError):
                raise
            # One row the database refuses must not take the others with it.
            for row in rows:
                try:
                    with write_transaction() as conn:
                        conn.execute(insert(refusal), [row])
                except DBAPIError as row_exc:
                    log.warning("could not write a refused request to the log (%s): %r", row_exc.orig, row)


def _text(value: str | None, limit: int) -> str | None:
    """Client-supplied text as the log keeps it: cut to its column, NUL shown as \\0 (PostgreSQL text cannot hold it)."""
    return value.replace("\x00", "\\0")[:limit] if value else None


refusal_log = RefusalLog()
