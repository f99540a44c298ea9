"""The data sources described by Airflow's Connections, read in the API server (which may use Airflow's database).

Connections defined in the metadata database and in AIRFLOW_CONN_* environment variables of the
API server are seen; other secrets backends cannot be listed, so Connections kept only there
are not matched (documented).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from airflow_ol_catalog.events.datasources import DataSource, data_source

if TYPE_CHECKING:
    from airflow.models.connection import Connection

log = logging.getLogger(__name__)


def _env_connections() -> list[Connection]:
    from airflow.models.connection import Connection

    found: list[Connection] = []
    for key, value in os.environ.items():
        if key.startswith("AIRFLOW_CONN_") and value.strip():
            conn_id = key[len("AIRFLOW_CONN_") :].lower()
            try:
                found.append(
                    Connection.from_json(value, conn_id)
                    if value.lstrip().startswith("{")
                    else Connection(conn_id=conn_id, uri=value)
                )
            except Exception as exc:
                log.warning("cannot read connection %s from the environment: %s", conn_id, exc)
    return found


def airflow_data_sources() -> list[DataSource]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        stored = list(session.scalars(select(Connection)))
        session.expunge_all()
    by_id = {c.conn_id: c for c in stored}
    by_id.update({c.conn_id: c for c in _env_connections()})  # as Airflow does: the environment wins
    sources = []
    for c in by_id.values():
        try:
            source = data_source(c.conn_id, c.conn_type or "", c.host, c.port, c.schema, c.extra, c.login)
        except (ValueError, TypeError) as exc:
            log.warning("connection %s cannot be read as a data source: %s", c.conn_id, exc)
            continue
        if source is not None:
            sources.append(source)
    return sources
