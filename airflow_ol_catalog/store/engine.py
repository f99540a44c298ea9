"""The engine the catalog reads and writes through (one per process, built on first use)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event

_lock = threading.Lock()
_engines: dict = {}  # url -> Engine; None -> the configured catalog URL

# Write transactions on SQLite start with BEGIN IMMEDIATE: a deferred transaction that has to
# upgrade its lock fails at once with SQLITE_BUSY instead of waiting out the busy timeout.
WRITE = {"ol_catalog_write": True}


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
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("ol_catalog_write") else "BEGIN")


def build_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _configure_sqlite(engine)
        return engine
    options = {}
    if url.startswith("postgresql+psycopg2") or url.startswith("postgresql://"):
        # psycopg2's executemany is one round trip per row; batch UPDATEs as SQLAlchemy can.
        options["executemany_mode"] = "values_plus_batch"
    return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800, **options)


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url`, by default the catalog's (resolved from the configuration once per process)."""
    if url is None:
        url = _engines.get(None) or catalog_url()
        _engines[None] = url
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url) or build_engine(url)
            _engines[url] = engine
    return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            if isinstance(engine, Engine):
                engine.dispose()
        _engines.clear()


@contextmanager
def write_transaction(engine: Engine | None = None) -> Iterator[Connection]:
    """One write transaction, committed when the block ends without an exception."""
    with (engine or get_engine()).connect().execution_options(**WRITE) as conn, conn.begin():
        yield conn


@contextmanager
def read_connection(engine: Engine | None = None) -> Iterator[Connection]:
    with (engine or get_engine()).connect() as conn, conn.begin():
        yield conn
