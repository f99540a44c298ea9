"""Group commit: the events of every request that is waiting go into one transaction.

Requests hand their validated events to the writer of their event loop and wait for the
commit. While one transaction runs, the next requests queue up and share the following one,
so one commit (one WAL append on SQLite, one fsync on PostgreSQL) serves many requests.
A single-event request announces itself while it reads its body; a transaction about to start
waits a moment for the announced ones (they are being read on this very loop), so concurrent
producers share a commit instead of splitting into a large group and a few small ones.

On SQLite the transaction runs on the event loop itself: it is CPU-bound and SQLite has one
writer anyway, and handing it to a thread costs more (futures, wake-ups, the GIL going back
and forth) than the write. On PostgreSQL it runs in one worker thread, because the commit
waits on the network and the disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from airflow_ol_catalog import metrics
from airflow_ol_catalog.ingest.event_log import Receipt, Refusal, Submission, store_events
from airflow_ol_catalog.ingest.tokens import touch_tokens
from airflow_ol_catalog.store.engine import WRITE, start_wal_checkpoints, write_transaction
from airflow_ol_catalog.store.sql import utcnow

log = logging.getLogger(__name__)

# A bigger group holds the event loop (SQLite) or the database lock longer than it saves.
MAX_EVENTS_PER_TRANSACTION = 500
TOKEN_TOUCH_SECONDS = 60
# The longest a transaction waits for announced requests. A request still reading its body
# when that wait ends is not waited for again: its client sends slowly, and must not hold back
# every transaction until it is done.
ANNOUNCED_WAIT_SECONDS = 0.002

Outcome = Receipt | Refusal


class CatalogUnavailable(RuntimeError):
    """The database could not be reached or was locked; nothing was stored (answered with 503)."""


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


@dataclass
class BatchCommitter:
    """Commits groups of submissions; the synchronous core of the writer (safe to call from any thread)."""

    engine: Engine
    policy: str
    _token_touched: dict[int, float] = field(default_factory=dict)
    keep_connection: bool = False  # only for a committer that one thread uses
    _kept: Connection | None = None

    def commit(self, groups: list[list[Submission]]) -> list[list[Outcome] | CatalogUnavailable]:
        """One transaction for all groups; one result per group: its outcomes, or why nothing was stored.

        A group whose events break the shared transaction is retried alone, then event by event,
        so the other groups still commit.
        """
        try:
            outcomes = self._store([sub for group in groups for sub in group])
        except Exception as exc:
            if _is_unavailable(exc):
                log.warning("catalog database unavailable: %s", exc)
                return [CatalogUnavailable(str(exc).splitlines()[0]) for _ in groups]
            if len(groups) == 1:
                return [self._one_by_one(groups[0])]
            return [self.commit([group])[0] for group in groups]
        results: list[list[Outcome] | CatalogUnavailable] = []
        start = 0
        for group in groups:
            results.append(outcomes[start : start + len(group)])
            start += len(group)
        return results

    def _one_by_one(self, group: list[Submission]) -> list[Outcome] | CatalogUnavailable:
        outcomes: list[Outcome] = []
        for sub in group:
            try:
                outcomes.extend(self._store([sub]))
            except Exception as exc:
                if _is_unavailable(exc):
                    return CatalogUnavailable(str(exc).splitlines()[0])
                log.exception("the database refused an event")
                detail = str(getattr(exc, "orig", exc)).splitlines()[0]
                outcomes.append(Refusal(f"the database refused this event: {detail}"))
        return outcomes

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction: from the pool, or on the one connection this committer keeps when
        it is the event loop's SQLite writer (a pool check-out and check-in per group cost more
        than the commit's own bookkeeping there)."""
        if not self.keep_connection:
            with write_transaction(self.engine) as conn:
                yield conn
            return
        if self._kept is None or self._kept.closed or self._kept.invalidated:
            self._kept = self.engine.connect().execution_options(**WRITE)
        with self._kept.begin():
            yield self._kept

    def _store(self, submissions: list[Submission]) -> list[Outcome]:
        now = utcnow()
        stale = {
            sub.token_id
            for sub in submissions
            if sub.token_id is not None and now.timestamp() - self._token_touched.get(sub.token_id, 0) > TOKEN_TOUCH_SECONDS
        }
        started = time.perf_counter()
        with self._transaction() as conn:
            outcomes = store_events(conn, submissions, self.policy)
            touch_tokens(conn, stale, now)
        metrics.timing("ingest.commit", (time.perf_counter() - started) * 1000)  # log, projection and commit
        for token_id in stale:
            self._token_touched[token_id] = now.timestamp()
        return outcomes


class EventWriter:
    """The group-commit queue of one event loop."""

    def __init__(self, engine: Engine, policy: str):
        self._inline = engine.dialect.name == "sqlite"
        self._committer = BatchCommitter(engine, policy, keep_connection=self._inline)
        if self._inline:
            start_wal_checkpoints(engine)
        self._executor = None if self._inline else ThreadPoolExecutor(1, thread_name_prefix="ol-catalog-writer")
        self._pending: list[tuple[list[Submission], asyncio.Future]] = []
        self._running = False
        self._drainer: asyncio.Task | None = None  # referenced, so the running drain is not collected
        self._transactions = 0  # started so far
        # Requests reading an event they will write, by the number of transactions started
        # when they were announced.
        self._announced: Counter[int] = Counter()
        self._settled: asyncio.Future | None = None  # resolved when none is left to wait for

    @contextmanager
    def announced(self) -> Iterator[None]:
        """Wrap the reading of an event that will be written: a transaction starting meanwhile
        waits for it (at most ANNOUNCED_WAIT_SECONDS) so it joins."""
        since = self._transactions
        self._announced[since] += 1
        try:
            yield
        finally:
            self._announced[since] -= 1
            if not self._announced[since]:
                del self._announced[since]
            if self._settled is not None and not self._settled.done() and not self._awaited():
                self._settled.set_result(None)

    def _awaited(self) -> int:
        """Announced requests the next transaction waits for: those announced since the last one
        started (an older one was waited for by that one already)."""
        return sum(count for since, count in self._announced.items() if since >= self._transactions)

    async def _await_announced(self) -> None:
        loop = asyncio.get_running_loop()
        settled = self._settled = loop.create_future()
        timer = loop.call_later(ANNOUNCED_WAIT_SECONDS, lambda: settled.done() or settled.set_result(None))
        try:
            await settled
        finally:
            timer.cancel()
            self._settled = None

    async def write(self, submissions: list[Submission]) -> list[Outcome]:
        """Store events; returns one Receipt or Refusal per event once they are committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((submissions, future))
        if not self._running:
            self._running = True
            self._drainer = loop.create_task(self._drain())
        result = await future
        if isinstance(result, CatalogUnavailable):
            raise result
        return result

    async def _drain(self) -> None:
        try:
            while self._pending:
                if self._awaited() and sum(len(subs) for subs, _ in self._pending) < MAX_EVENTS_PER_TRANSACTION:
                    await self._await_announced()
                self._transactions += 1
                jobs = self._take()
                groups = [subs for subs, _ in jobs]
                try:
                    if self._inline:
                        results = self._committer.commit(groups)
                    else:
                        results = await asyncio.get_running_loop().run_in_executor(self._executor, self._committer.commit, groups)
                except Exception as exc:  # a bug, not bad input: fail these requests, keep the writer alive
                    log.exception("event writer failed")
                    results = [exc] * len(jobs)
                for (_, future), result in zip(jobs, results):
                    if not future.done():
                        if isinstance(result, Exception) and not isinstance(result, CatalogUnavailable):
                            future.set_exception(result)
                        else:
                            future.set_result(result)
                if self._inline:
                    await asyncio.sleep(0)  # let other requests run between transactions
        finally:
            self._running = False

    def _take(self) -> list[tuple[list[Submission], asyncio.Future]]:
        taken, size = [], 0
        while self._pending and (not taken or size + len(self._pending[0][0]) <= MAX_EVENTS_PER_TRANSACTION):
            job = self._pending.pop(0)
            taken.append(job)
            size += len(job[0])
        return taken


_writers: dict[int, EventWriter] = {}


def get_writer(engine: Engine, policy: str) -> EventWriter:
    """The writer of the running event loop (each api-server worker process has its own loop)."""
    loop_id = id(asyncio.get_running_loop())
    writer = _writers.get(loop_id)
    if writer is None:
        writer = _writers[loop_id] = EventWriter(engine, policy)
    return writer
