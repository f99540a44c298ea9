"""Group commit: the events of every request that is waiting go into one transaction.

Requests hand their validated events to the writer of their event loop and wait for the
commit. While one transaction runs, the next requests queue up and share the following one,
so one commit (one WAL append on SQLite, one fsync on PostgreSQL) serves many requests.
A single-event request announces itself while it reads its body; a transaction about to start
waits a moment for the announced ones (they are being read on this very loop), so concurrent
producers share a commit instead of splitting into a large group and a few small ones.

On SQLite the transaction runs on the event loop itself: it is CPU-bound and SQLite has one
writer anyway, and handing it to a thread costs more (futures, wake-ups, the GIL going back
and forth) than the write. Not so for a transaction of over a megabyte of events, which runs on
a thread so that the loop goes on answering; nor for one that finds another process holding the
write lock, which is retried on a thread that waits at most LOCKED_WAIT_MS before the requests
are answered 503. On PostgreSQL transactions run on worker threads, each with a connection of its
own, up to POSTGRES_TRANSACTIONS at once: a transaction spends most of its time waiting for the
database's answers, and meanwhile the next group is stored on another connection.

A group the database refuses even alone (one of its events is bad) is split on a thread of its
own, so a poisoned batch delays its sender and no one else. A transaction PostgreSQL rolls back
to break a deadlock or a serialization conflict with another writer (another api-server worker,
a maintenance DAG) is run again, as PostgreSQL's documentation advises: it failed for the timing,
not for its events.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from airflow_ol_catalog.events import metrics
from airflow_ol_catalog.events.collector import collector_paused
from airflow_ol_catalog.ingest.asset_triggers import writes_queued
from airflow_ol_catalog.ingest.event_log import Receipt, Refusal, Submission, store_events
from airflow_ol_catalog.ingest.projection import Written, written_nodes
from airflow_ol_catalog.ingest.tokens import TOKEN_TOUCH_SECONDS, touch_tokens
from airflow_ol_catalog.store.engine import (
    WRITE,
    database_unavailable,
    sqlite_driver,
    start_wal_checkpoints,
    write_transaction,
)
from airflow_ol_catalog.store.sql import joined_transaction, lost_prepared, utcnow

log = logging.getLogger(__name__)

# Told, after each commit, which jobs and datasets it wrote, and the datasets whose readers and
# writers it changed too (ingest/projection.py `Written`; the API server keeps their lineage views
# up to date: lineage/view_refresh.py). Each must return at once.
committed: list[Callable[[Engine, set[int], set[int], set[int]], None]] = []

# A bigger group holds the event loop (SQLite) or the database lock longer than it saves.
MAX_EVENTS_PER_TRANSACTION = 500
# PostgreSQL: the writer's kept connection, idle this long, goes back to the pool, whose pre-ping
# checks a connection before it is used.
KEPT_IDLE_SECONDS = 30
# The longest a transaction waits for announced requests. A request still reading its body
# when that wait ends is not waited for again: its client sends slowly, and must not hold back
# every transaction until it is done.
ANNOUNCED_WAIT_SECONDS = 0.002

# A refused group is halved down to chunks this small, whose events are then tried one by one.
ONE_BY_ONE = 32
# SQLite: the event loop's writer never waits for another process's write lock (the loop would
# stop answering every route); a transaction that finds it held is retried on a thread that
# waits this long, then answered with 503 and Retry-After.
LOCKED_WAIT_MS = 1500
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
# PostgreSQL: SQLSTATEs of a transaction rolled back for its timing against other writers
# (serialization_failure, deadlock_detected), and how often such a transaction is run again; so
# is one whose session's prepared statements are not those the catalog prepared (store/sql.py
# `lost_prepared`: it forgets them, and the next attempt prepares them again).
RETRIED_SQLSTATES = ("40001", "40P01")
TRANSIENT_ATTEMPTS = 8
# Before each new attempt a random wait of up to this, doubled after each one and at most
# RETRY_WAIT_MAX: writers that met keep meeting when they run again at once (new symlinks settling
# while others read the names they move), and the caller is answered 503 only once all have failed.
RETRY_WAIT_FIRST, RETRY_WAIT_MAX = 0.005, 0.2
# SQLite: a transaction of more events than this (in bytes of canonical JSON) runs on the
# writer's thread, not on the event loop: storing and projecting costs about 0.4 s a megabyte,
# and the loop must go on answering every other route meanwhile.
INLINE_BYTES = 1024 * 1024
# PostgreSQL: transactions one writer runs at once, each on its own thread and kept connection.
# Concurrent writers are safe as those of several workers are (rows shared by writers are read
# without locks, deadlocks run again). Two stored batches 30 % faster than one; three were no
# faster than two (the README's performance section).
POSTGRES_TRANSACTIONS = 2

Outcome = Receipt | Refusal


def _refused_alone(sub: Submission, exc: Exception) -> Refusal:
    """Why one event, stored alone, was not stored: the database's answer to its values (422), or a
    fault of the catalog that sending again may overcome once it is mended (500); logged either way."""
    what = (sub.digest[:12], sub.event.job_name, sub.event.run_id)
    if not isinstance(exc, DBAPIError):  # no database's answer at all
        log.exception("storing event %s failed (job %s, run %s)", *what)
        return Refusal(
            f"the catalog failed to store this event, nothing was stored ({type(exc).__name__}: "
            f"{_first_line(exc)}; its log has the details): send it again later",
            500,
            True,
        )
    log.warning("the database refused event %s (job %s, run %s): %s", *what, _first_line(exc))
    return Refusal(f"the database refused this event: {_first_line(exc)}")


class CatalogUnavailable(RuntimeError):
    """The database could not be reached or was locked; nothing was stored (answered with 503)."""


class CatalogBusy(CatalogUnavailable):
    """SQLite: another writer holds the database's write lock."""


@dataclass(frozen=True)
class Refused:
    """A group the database refused even alone: one of its events is bad. Split it with `isolate`."""

    group: list[Submission]


# What a group's transaction comes to; what a request is answered (a CatalogUnavailable is raised).
Committed = list[Outcome] | CatalogUnavailable | Refused
Answer = list[Outcome] | CatalogUnavailable


def _is_busy(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlite_errorcode", None) in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in str(orig)


def _is_transient(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    return code in RETRIED_SQLSTATES or (orig is not None and lost_prepared(orig))


def _retry_wait(attempt: int) -> float:
    """How long to wait after failed attempt `attempt` (1, 2, ...): random, up to a bound that doubles."""
    return random.uniform(0, min(RETRY_WAIT_MAX, RETRY_WAIT_FIRST * 2**attempt))


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0] if str(getattr(exc, "orig", exc)) else type(exc).__name__


@dataclass
class BatchCommitter:
    """Commits groups of submissions; the synchronous core of the writer (safe to call from any thread)."""

    engine: Engine
    policy: str
    _token_touched: dict[int, float] = field(default_factory=dict)
    keep_connection: bool = False  # only for a committer that one thread uses
    # SQLite: how long BEGIN IMMEDIATE waits for another writer (None: the engine's busy timeout)
    busy_timeout_ms: int | None = None
    _kept: Connection | None = None
    _kept_used: float = 0.0  # time.monotonic() of the kept connection's last transaction

    def commit(self, groups: list[list[Submission]]) -> list[list[Outcome] | CatalogUnavailable]:
        """One transaction for all groups; one result per group: its outcomes, or why nothing was stored.

        A group whose events break the shared transaction is retried alone, then split until
        the events the database refuses are found; the others still commit.
        """
        return [
            self.isolate(result.group) if isinstance(result, Refused) else result for result in self.try_commit(groups)
        ]

    def try_commit(self, groups: list[list[Submission]]) -> list[Committed]:
        """As `commit`, but a group refused even alone comes back as Refused, for the caller to split
        where it costs only that group's sender (EventWriter does it off the shared writer)."""
        try:
            outcomes = self._store([sub for group in groups for sub in group])
        except Exception as exc:
            if database_unavailable(exc):
                busy = _is_busy(exc)
                log.warning("catalog database %s: %s", "locked" if busy else "unavailable", _first_line(exc))
                error = CatalogBusy if busy else CatalogUnavailable
                return [error(_first_line(exc)) for _ in groups]
            if len(groups) == 1:
                return [Refused(groups[0])]
            return [self.try_commit([group])[0] for group in groups]
        results: list[list[Outcome] | CatalogUnavailable | Refused] = []
        start = 0
        for group in groups:
            results.append(outcomes[start : start + len(group)])
            start += len(group)
        return results

    def isolate(self, group: list[Submission]) -> list[Outcome] | CatalogUnavailable:
        """Store a group the database refused, in halves that commit on their own, down to single
        events, so the good events are stored and each bad one is refused with the database's reason.

        A few bad events among many cost a few dozen transactions; a group of nothing but bad
        events one transaction per event (below ONE_BY_ONE halving stops, as halves would fail too).
        """
        outcomes: dict[int, Outcome] = {}
        chunks = [list(range(len(group)))]
        while chunks:
            chunk = chunks.pop()
            try:
                stored = self._store([group[i] for i in chunk])
            except Exception as exc:
                if database_unavailable(exc):
                    if not outcomes:
                        return CatalogUnavailable(_first_line(exc))
                    refusal = Refusal(
                        f"the catalog database became unavailable, this event was not stored: {_first_line(exc)}",
                        503,
                        True,
                    )
                    outcomes.update((i, refusal) for part in [chunk, *chunks] for i in part)
                    break
                if len(chunk) == 1:
                    outcomes[chunk[0]] = _refused_alone(group[chunk[0]], exc)
                elif len(chunk) <= ONE_BY_ONE:
                    chunks.extend([i] for i in reversed(chunk))
                else:
                    middle = len(chunk) // 2
                    chunks.extend((chunk[middle:], chunk[:middle]))
                continue
            outcomes.update(zip(chunk, stored, strict=False))
        return [outcomes[i] for i in range(len(group))]

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction: from the pool, or on the one connection this committer keeps when
        it is the event loop's SQLite writer (a pool check-out and check-in per group cost more
        than the commit's own bookkeeping there)."""
        if not self.keep_connection:
            with write_transaction(self.engine) as conn, joined_transaction(conn):
                yield conn
            return
        idle = time.monotonic() - self._kept_used > KEPT_IDLE_SECONDS
        if self._kept is not None and idle and self.engine.dialect.name != "sqlite":
            # A network connection idle for long may have been cut (a firewall, a proxy, a restarted
            # server): the pool's pre-ping checks it before it carries events.
            self._kept.close()
        if self._kept is None or self._kept.closed or self._kept.invalidated:
            self._kept = self.engine.connect().execution_options(**WRITE)
            if self.busy_timeout_ms is not None:  # on the driver: SQLAlchemy would begin a transaction
                sqlite_driver(self._kept.connection).execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        with self._kept.begin(), joined_transaction(self._kept):
            yield self._kept
        self._kept_used = time.monotonic()

    def _store(self, submissions: list[Submission]) -> list[Outcome]:
        now = utcnow()
        stale = {
            sub.token_id
            for sub in submissions
            if sub.token_id is not None
            and now.timestamp() - self._token_touched.get(sub.token_id, 0) > TOKEN_TOUCH_SECONDS
        }
        started = time.perf_counter()
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                # A transaction's rows all live until it ends: collections meanwhile would only walk them.
                with collector_paused(), _noting_writes() as written, self._transaction() as conn:
                    outcomes = store_events(conn, submissions, self.policy)
                    touch_tokens(conn, stale, now)
                break
            except DBAPIError as exc:
                # A connection the server had closed (a restart, an idle timeout under the kept
                # connection's recheck): once more on a new one. Had the lost transaction committed,
                # its events are found stored, as duplicates.
                lost = exc.connection_invalidated and attempt == 1
                if attempt == TRANSIENT_ATTEMPTS or not (_is_transient(exc) or lost):
                    raise
                log.info("catalog transaction run again (attempt %d): %s", attempt + 1, _first_line(exc))
                time.sleep(_retry_wait(attempt))  # apart from the writer it met
        metrics.timing("ingest.commit", (time.perf_counter() - started) * 1000)  # log, projection and commit
        for token_id in stale:
            self._token_touched[token_id] = now.timestamp()
        _tell_committed(self.engine, written)
        return outcomes


def listen(listener: Callable[[Engine, set[int], set[int], set[int]], None]) -> None:
    """Add a listener to `committed`, once however often this process asks."""
    if listener not in committed:
        committed.append(listener)


@contextmanager
def _noting_writes() -> Iterator[Written]:
    """The jobs and datasets the projection writes meanwhile, on this thread."""
    written = Written()
    told = written_nodes.set(written)
    try:
        yield written
    finally:
        written_nodes.reset(told)


def _tell_committed(engine: Engine, written: Written) -> None:
    if written.queued_writes:
        writes_queued.set()
    for listener in committed:
        listener(engine, written.jobs, written.datasets, written.jobs_using)


@contextmanager
def told_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction outside the writer (a replay of quarantined events): once it commits,
    `committed` is told which jobs and datasets its projection wrote, as after the writer's own
    transactions, so their views are kept ready too."""
    with _noting_writes() as written, write_transaction(engine) as conn:
        yield conn
    _tell_committed(engine, written)


class _Slot(NamedTuple):
    """One transaction's worth of a writer: a committer and the thread it runs on."""

    committer: BatchCommitter
    thread: ThreadPoolExecutor


class EventWriter:
    """The group-commit queue of one event loop."""

    def __init__(self, engine: Engine, policy: str):
        self._inline = engine.dialect.name == "sqlite"
        if self._inline:
            committers = [BatchCommitter(engine, policy, keep_connection=True, busy_timeout_ms=0)]
            self._waiting = BatchCommitter(engine, policy, keep_connection=True, busy_timeout_ms=LOCKED_WAIT_MS)
            start_wal_checkpoints(engine)
        else:
            # Each thread keeps a connection: a pool check-out per group cost a round trip (the
            # pre-ping) and more of the thread's time than several of the transaction's statements.
            committers = [BatchCommitter(engine, policy, keep_connection=True) for _ in range(POSTGRES_TRANSACTIONS)]
        # Those no transaction is using, each with its one thread: a committer's kept connection is
        # used by one thread at a time, even by a transaction started while a cancelled one's
        # thread still runs (it waits behind it).
        self._free = [
            _Slot(committer, ThreadPoolExecutor(1, thread_name_prefix="ol-catalog-writer")) for committer in committers
        ]
        # Refused groups are split on their own thread, so their sender waits, not everyone.
        self._isolator = BatchCommitter(engine, policy)
        self._isolation = ThreadPoolExecutor(1, thread_name_prefix="ol-catalog-isolate")
        self._isolating: set[asyncio.Future[Answer]] = set()
        self._pending: list[tuple[list[Submission], asyncio.Future[Answer]]] = []
        self._starting: asyncio.Task[None] | None = None  # the transaction gathering its groups
        self._running: set[asyncio.Task[None]] = set()  # referenced, so that none is collected
        self._transactions = 0  # started so far
        # Requests reading an event they will write, by the number of transactions started
        # when they were announced.
        self._announced: Counter[int] = Counter()
        self._settled: asyncio.Future[None] | None = None  # resolved when none is left to wait for

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

        def stop_waiting() -> None:
            if not settled.done():
                settled.set_result(None)

        timer = loop.call_later(ANNOUNCED_WAIT_SECONDS, stop_waiting)
        try:
            await settled
        finally:
            timer.cancel()
            self._settled = None

    async def write(self, submissions: list[Submission]) -> list[Outcome]:
        """Store events; returns one Receipt or Refusal per event once they are committed."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((submissions, future))
        self._start_transaction()
        result = await future
        if isinstance(result, CatalogUnavailable):
            raise result
        return result

    def _start_transaction(self) -> None:
        """Start a transaction for the waiting groups if a connection is free and no other
        transaction is still gathering (the waiting groups join that one)."""
        if self._pending and self._free and self._starting is None:
            slot = self._free.pop()
            task = self._starting = asyncio.get_running_loop().create_task(self._transaction(slot))
            self._running.add(task)
            task.add_done_callback(functools.partial(self._transaction_done, slot))

    def _transaction_done(self, slot: _Slot, task: asyncio.Task[None]) -> None:
        """Return the transaction's connection; start the next unless the loop is stopping (its
        tasks are cancelled then: a cancelled one may not even have started)."""
        self._running.discard(task)
        if self._starting is task:
            self._starting = None
        self._free.append(slot)
        if not task.cancelled():
            self._start_transaction()

    async def _transaction(self, slot: _Slot) -> None:
        try:
            if self._awaited() and sum(len(subs) for subs, _ in self._pending) < MAX_EVENTS_PER_TRANSACTION:
                await self._await_announced()
            self._transactions += 1
            jobs = self._take()
        finally:
            self._starting = None
        self._start_transaction()  # groups beyond this transaction's size go to another connection
        results: list[Committed | Exception]
        try:
            results = list(await self._try_commit(slot, [subs for subs, _ in jobs]))
        except asyncio.CancelledError:  # the loop is stopping: its requests are told to send again
            stopped = CatalogUnavailable("the API server stopped before these events were known to be stored")
            for _, future in jobs:
                if not future.done():
                    future.set_result(stopped)
            raise
        except Exception as exc:  # a bug, not bad input: fail these requests, keep the writer alive
            log.exception("event writer failed")
            results = [exc] * len(jobs)
        for (_, future), result in zip(jobs, results, strict=False):
            if isinstance(result, Refused):
                self._isolate(result.group, future)
            elif future.done():
                continue
            elif isinstance(result, CatalogUnavailable) or not isinstance(result, Exception):
                future.set_result(result)
            else:
                future.set_exception(result)
        if self._inline:
            await asyncio.sleep(0)  # let other requests run between transactions

    async def _try_commit(self, slot: _Slot, groups: list[list[Submission]]) -> list[Committed]:
        loop = asyncio.get_running_loop()
        if not self._inline:
            return await loop.run_in_executor(slot.thread, slot.committer.try_commit, groups)
        if sum(len(sub.canonical) for group in groups for sub in group) > INLINE_BYTES:
            return await loop.run_in_executor(slot.thread, self._waiting.try_commit, groups)
        results = slot.committer.try_commit(groups)
        if any(isinstance(result, CatalogBusy) for result in results):
            # Another process holds the write lock: wait for it on a thread, not on the event loop.
            results = await loop.run_in_executor(slot.thread, self._waiting.try_commit, groups)
        return results

    def _isolate(self, group: list[Submission], future: asyncio.Future[Answer]) -> None:
        task = asyncio.get_running_loop().run_in_executor(self._isolation, self._isolator.isolate, group)
        self._isolating.add(task)

        def settle(done: asyncio.Future[Answer]) -> None:
            self._isolating.discard(done)
            if future.done():
                return
            if (error := done.exception()) is not None:
                future.set_exception(error)
            else:
                future.set_result(done.result())

        task.add_done_callback(settle)

    def _take(self) -> list[tuple[list[Submission], asyncio.Future[Answer]]]:
        taken: list[tuple[list[Submission], asyncio.Future[Answer]]] = []
        size = 0
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
