"""Group commit: one thread per process writes every pending event in one transaction.

Requests hand their validated events to the writer and wait for the commit; while one
transaction runs, the next requests queue up and share the following one. One commit (one
fsync on PostgreSQL, one WAL append on SQLite) then serves many requests, and SQLite never
sees two writers of the same process competing for its lock.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from airflow_ol_catalog.ingest.event_log import Receipt, Refusal, Submission, store_events
from airflow_ol_catalog.ingest.tokens import touch_tokens
from airflow_ol_catalog.store.engine import write_transaction
from airflow_ol_catalog.store.sql import utcnow

log = logging.getLogger(__name__)

MAX_EVENTS_PER_TRANSACTION = 2000
TOKEN_TOUCH_SECONDS = 60


class CatalogUnavailable(RuntimeError):
    """The database could not be reached or was locked; nothing was stored (answered with 503)."""


@dataclass
class _Job:
    submissions: list[Submission]
    future: Future


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


class EventWriter:
    def __init__(self, engine: Engine, policy: str):
        self._engine = engine
        self._policy = policy
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._token_touched: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, name="ol-catalog-writer", daemon=True)
        self._thread.start()

    def submit(self, submissions: list[Submission]) -> Future:
        """Queue events; the future resolves to one Receipt or Refusal per event after the commit."""
        future: Future = Future()
        self._queue.put(_Job(submissions, future))
        return future

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            size = len(jobs[0].submissions)
            while size < MAX_EVENTS_PER_TRANSACTION:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                size += len(job.submissions)
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            outcomes = self._store([sub for job in jobs for sub in job.submissions])
        except Exception as exc:
            if _is_unavailable(exc):
                log.warning("catalog database unavailable: %s", exc)
                for job in jobs:
                    job.future.set_exception(CatalogUnavailable(str(exc).splitlines()[0]))
            elif len(jobs) == 1:
                self._store_one_by_one(jobs[0])
            else:
                # Something in this group broke the transaction: isolate it so the others still commit.
                for job in jobs:
                    self._commit([job])
            return
        start = 0
        for job in jobs:
            job.future.set_result(outcomes[start : start + len(job.submissions)])
            start += len(job.submissions)

    def _store_one_by_one(self, job: _Job) -> None:
        """Last resort for a job whose transaction failed: one event per transaction."""
        outcomes: list[Receipt | Refusal] = []
        for sub in job.submissions:
            try:
                outcomes.extend(self._store([sub]))
            except Exception as exc:
                if _is_unavailable(exc):
                    job.future.set_exception(CatalogUnavailable(str(exc).splitlines()[0]))
                    return
                log.exception("the database refused an event")
                detail = str(getattr(exc, "orig", exc)).splitlines()[0]
                outcomes.append(Refusal(f"the database refused this event: {detail}"))
        job.future.set_result(outcomes)

    def _store(self, submissions: list[Submission]) -> list[Receipt | Refusal]:
        now = utcnow()
        stale = {
            sub.token_id
            for sub in submissions
            if sub.token_id is not None
            and now.timestamp() - self._token_touched.get(sub.token_id, 0) > TOKEN_TOUCH_SECONDS
        }
        with write_transaction(self._engine) as conn:
            outcomes = store_events(conn, submissions, self._policy)
            touch_tokens(conn, stale, now)
        for token_id in stale:
            self._token_touched[token_id] = now.timestamp()
        return outcomes


_writer: EventWriter | None = None
_writer_pid: int | None = None
_writer_lock = threading.Lock()


def get_writer(engine: Engine, policy: str) -> EventWriter:
    """The writer of this process (api-server workers fork: each gets its own thread)."""
    global _writer, _writer_pid
    with _writer_lock:
        if _writer is None or _writer_pid != os.getpid():
            _writer = EventWriter(engine, policy)
            _writer_pid = os.getpid()
        return _writer
