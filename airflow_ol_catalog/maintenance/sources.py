"""The data sources the maintenance tasks read: an Airflow Connection and what it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow_ol_catalog.events.datasources import DataSource, data_source


def airflow_connection(conn_id: str) -> Any:
    """The Connection as task code reads it (Airflow's SDK; its place in Airflow 3.1 before that)."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow 3.1
        from airflow.hooks.base import BaseHook  # type: ignore[attr-defined,no-redef]  # its place in Airflow 3.1
    return BaseHook.get_connection(conn_id)


def source_of(conn_id: str, connection: Any) -> DataSource | None:
    """The data source the Connection describes; None for connection types that name no data."""
    return data_source(
        conn_id, connection.conn_type or "", connection.host, connection.port, connection.schema, connection.extra
    )


def source_engine(conn_id: str, connection: Any, source: DataSource | None) -> Any:
    """A SQLAlchemy engine on the data source, through the Connection's hook. A SQLite file is opened
    read-only: the hook's engine would create an empty database where the file is missing."""
    if source is not None and source.scheme == "sqlite":
        return _read_only_sqlite(conn_id, connection.host or "")
    return connection.get_hook().get_sqlalchemy_engine()


def _read_only_sqlite(conn_id: str, path: str) -> Any:
    import sqlite3

    from sqlalchemy import create_engine

    if not Path(path).is_file():
        raise FileNotFoundError(
            f"Connection {conn_id!r} names SQLite file {path!r} (its host), which does not exist; "
            "the maintenance tasks open it read-only and never create it"
        )
    uri = f"file:{quote(path)}?mode=ro"
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
