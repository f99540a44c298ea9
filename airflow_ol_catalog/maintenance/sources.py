"""The data sources the maintenance tasks read: an Airflow Connection and what it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow_ol_catalog.events.datasources import DataSource, column_type, data_source


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
        conn_id,
        connection.conn_type or "",
        connection.host,
        connection.port,
        connection.schema,
        connection.extra,
        connection.login,
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


# PostgreSQL's own names of its column types (`integer[]`, `character(5)`, an enum's name, `xml`),
# which SQLAlchemy's reflection loses (`ARRAY`, `VARCHAR(1)` for an enum, `NULL` for xml). A column
# of a domain has the domain's base type, as information_schema's `udt_name`, which producers send.
POSTGRES_COLUMNS = """
SELECT a.attname AS name,
       format_type(coalesce(d.typbasetype, a.atttypid), coalesce(d.typtypmod, a.atttypmod)) AS type,
       NOT a.attnotnull AS nullable,
       col_description(a.attrelid, a.attnum) AS comment
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_type d ON d.oid = a.atttypid AND d.typtype = 'd'
WHERE n.nspname = coalesce(:schema, current_schema()) AND c.relname = :table
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def table_columns(inspector: Any, scheme: str, schema: str | None, table: str) -> list[dict[str, Any]]:
    """The columns of a table or view: name, type in words, nullable and comment."""
    if scheme == "postgres":
        from sqlalchemy import text

        with inspector.bind.connect() as conn:
            found = conn.execute(text(POSTGRES_COLUMNS), {"schema": schema, "table": table}).mappings()
            return [dict(row) for row in found]
    return [
        {
            "name": c["name"],
            "type": column_type(c["type"]),
            "nullable": c.get("nullable", True),
            "comment": c.get("comment"),
        }
        for c in inspector.get_columns(table, schema=schema)
    ]
