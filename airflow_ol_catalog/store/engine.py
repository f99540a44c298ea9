"""The engine the catalog reads and writes through (one per process, built on first use)."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, PoolProxiedConnection, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}  # url -> Engine
_configured_url: str | None = None  # the catalog URL, resolved from the configuration once
_checkpointers: dict[str, threading.Event] = {}  # database URL -> stop flag of its checkpoint thread

# SQLite copies its write-ahead log into the database file inside the commit that finds the log
# past this many pages. The API server leaves that to a thread (start_wal_checkpoints); the
# threshold is the safety net should that thread fall behind.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000
WAL_CHECKPOINT_SECONDS = 0.5
# Under a steady stream a passive checkpoint never finds the log fully copied, so the log is
# never restarted and keeps growing; past this size the thread waits for a pause in writing
# (at most the busy timeout) and truncates it.
WAL_TRUNCATE_BYTES = 64 * 1024 * 1024
TRUNCATE_WAIT_MS = 200
BUSY_TIMEOUT_MS = 10_000

# Write transactions on SQLite start with BEGIN IMMEDIATE: a deferred transaction that has to
# upgrade its lock fails at once with SQLITE_BUSY instead of waiting out the busy timeout.
WRITE = {"ol_catalog_write": True}

# PostgreSQL: the longest a statement waits for a lock (a table another session locked whole, for
# a migration or by hand) before it fails and its request is answered 503, as SQLite's busy
# timeout bounds the wait for its write lock; writers wait for each other milliseconds.
LOCK_TIMEOUT_MS = 10_000
# The SQLSTATE classes of errors an event's own values cause: data exceptions, constraint and
# check-option violations, limits such as an index row too large, and what a trigger's PL/pgSQL
# raised on seeing them. Any other error of PostgreSQL (a read-only standby, missing privileges, a
# server shutting down) is the database's, not the request's.
REQUEST_SQLSTATE_CLASSES = ("22", "23", "44", "54", "P0")


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error says the catalog cannot store or read now, whatever was asked:
    unreachable, locked, read-only, out of resources. Such a request is answered 503 and may be
    sent again; any other error comes from what was asked (an event the database refuses)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)  # psycopg2's, psycopg 3's
    if isinstance(code, str):  # psycopg2 raises class 54 as an OperationalError, like 53, 55, 57
        return not code.startswith(REQUEST_SQLSTATE_CLASSES)
    return isinstance(exc, OperationalError)


def catalog_url() -> str:
    """`[ol_catalog] sql_alchemy_conn`, else Airflow's metadata database."""
    from airflow.configuration import conf

    from airflow_ol_catalog.config import load_settings

    return load_settings().sql_alchemy_conn or conf.get("database", "sql_alchemy_conn")


def uses_own_database() -> bool:
    from airflow_ol_catalog.config import load_settings

    return bool(load_settings().sql_alchemy_conn)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: the log's indexes outgrow the 2 MiB default
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("ol_catalog_write") else "BEGIN")


def build_engine(url: str) -> Engine:
    """The catalog's engine. Its errors, and what the server logs of them, never show a statement's
    values: a token's digest, an event's text."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_use_lifo=True, hide_parameters=True
        )
        _configure_sqlite(engine)
        return engine
    options: dict[str, Any] = {}
    if url.startswith(("postgresql+psycopg2", "postgresql://")):
        # psycopg2's executemany is one round trip per row; batch UPDATEs as SQLAlchemy can.
        options["executemany_mode"] = "values_plus_batch"
    engine = create_engine(
        url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800, hide_parameters=True, **options
    )
    if engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


# The key, in the pool's record of a PostgreSQL connection, of the names of the statements
# prepared on its session (store/sql.py); absent when the catalog prepares none.
PREPARED = "ol_catalog_prepared"
# The key, in a PostgreSQL connection's info, of the state of the transaction it is in whose BEGIN
# and COMMIT go with statements (store/sql.py `joined_transaction`).
JOINED = "ol_catalog_joined_transaction"


@dataclass
class Joined:
    """A joined transaction: whether its BEGIN was sent."""

    begun: bool = False


def begin_before(conn: Connection, cursor: Any, *_: Any) -> None:
    """A statement SQLAlchemy sends in a joined transaction: BEGIN first, if it was not sent yet."""
    joined: Joined | None = conn.info.get(JOINED)
    if joined is not None and not joined.begun:
        joined.begun = True
        cursor.execute("BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    """No JIT compilation on the catalog's connections: its queries are short and index-driven, and
    one over the partitioned event log is estimated dear enough to be compiled for each partition
    (1.7 s of a 2 s query in bench/retention.py); times in UTC; lock waits bounded
    (LOCK_TIMEOUT_MS). Set with SET, not startup options, which connection poolers such as
    PgBouncer refuse. Each session starts with no prepared statement."""
    from airflow_ol_catalog.config import load_settings

    prepare = load_settings().prepared_statements

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET jit = off")
        # Times are read back in UTC whatever the database's time zone (Debian's initdb takes the host's).
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        # Quoting (psycopg2's, and store/sql.py's) follows how backslashes read when the session
        # began: a configuration reload must not change it under a live session, where a value
        # quoted for one reading would be run under the other.
        status = getattr(dbapi_connection, "get_parameter_status", None)
        conforming = status("standard_conforming_strings") if status else None
        if conforming in ("on", "off"):
            cursor.execute(f"SET standard_conforming_strings = {conforming}")
        cursor.close()
        dbapi_connection.commit()
        if prepare:  # store/sql.py: the names of the statements prepared on this session
            record.info[PREPARED] = set()

    event.listen(engine, "before_cursor_execute", begin_before)


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url`, by default the catalog's (resolved from the configuration once per process)."""
    global _configured_url
    if url is None:
        url = _configured_url = _configured_url or catalog_url()
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url) or build_engine(url)
            _engines[url] = engine
    return engine


def dispose_engines() -> None:
    global _configured_url
    with _lock:
        for stop in _checkpointers.values():
            stop.set()
        _checkpointers.clear()
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _configured_url = None


def start_wal_checkpoints(engine: Engine) -> None:
    """Copy a SQLite database's write-ahead log into the database file from a thread, twice a second.

    Done inside a commit, the copy holds up the event loop that commits (tens of milliseconds
    every few thousand events). In a thread it overlaps with request handling, as sqlite3
    releases the GIL while it copies, and a passive checkpoint never waits for the writer.
    Copying less often also writes pages that change again and again (indexes) fewer times.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    key = str(engine.url)
    with _lock:
        if key in _checkpointers:
            return
        stop = _checkpointers[key] = threading.Event()
    threading.Thread(
        target=_checkpoint_until, args=(engine, stop), name="ol-catalog-wal-checkpoint", daemon=True
    ).start()


def sqlite_driver(connection: PoolProxiedConnection) -> sqlite3.Connection:
    """The sqlite3 connection under a pooled one, for what SQLAlchemy's per-call work would slow down."""
    driver = connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):  # SQLAlchemy types it as Any, or None once closed
        raise TypeError(f"expected an open sqlite3 connection, not {type(driver).__name__}")
    return driver


def _checkpoint_until(engine: Engine, stop: threading.Event) -> None:
    wal = f"{engine.url.database}-wal"
    while not stop.wait(WAL_CHECKPOINT_SECONDS):
        try:
            mode = "TRUNCATE" if os.path.exists(wal) and os.path.getsize(wal) > WAL_TRUNCATE_BYTES else "PASSIVE"
            connection = engine.raw_connection()
            try:
                driver = sqlite_driver(connection)
                # A truncating checkpoint holds new writers back while it waits for readers; a
                # short wait bounds that (it gives up, and tries again half a second later).
                driver.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
                try:
                    driver.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
                finally:
                    driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            finally:
                connection.close()
        except Exception:  # the next commit past the threshold checkpoints instead
            log.debug("background WAL checkpoint failed", exc_info=True)


@contextmanager
def write_transaction(engine: Engine | None = None) -> Iterator[Connection]:
    """One write transaction, committed when the block ends without an exception."""
    with (engine or get_engine()).connect().execution_options(**WRITE) as conn, conn.begin():
        yield conn


@contextmanager
def read_connection(engine: Engine | None = None) -> Iterator[Connection]:
    with (engine or get_engine()).connect() as conn, conn.begin():
        yield conn
