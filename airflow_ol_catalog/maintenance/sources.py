"""The data sources the maintenance tasks read: an Airflow Connection and what it describes."""

from __future__ import annotations

from typing import Any

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
