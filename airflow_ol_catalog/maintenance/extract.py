"""ol_catalog_extract_metadata: tables, views and columns of chosen Connections, sent as DatasetEvents.

They go through the ingestion API under the namespace OpenLineage gives the data source, so the
lineage that producers send attaches to the cataloged tables. One schema failing does not stop
the others.
"""

from __future__ import annotations

import fnmatch
import logging
from datetime import datetime, timezone

from airflow_ol_catalog import __version__
from airflow_ol_catalog.events.datasources import data_source
from airflow_ol_catalog.maintenance.client import CatalogClient

log = logging.getLogger(__name__)

PRODUCER = f"https://pypi.org/project/airflow-ol-catalog/{__version__}"
DATASET_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
SEND_BATCH = 500


def _namespace(conn_type: str, host: str | None, port: int | None, scheme: str) -> str:
    if scheme == "sqlite":
        return "sqlite://localhost"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _wanted(qualified: str, include: list[str] | None, exclude: list[str] | None) -> bool:
    if include and not any(fnmatch.fnmatchcase(qualified, p) for p in include):
        return False
    return not (exclude and any(fnmatch.fnmatchcase(qualified, p) for p in exclude))


def _event(namespace: str, name: str, columns: list[dict], kind: str, when: str) -> dict:
    return {
        "eventTime": when,
        "producer": PRODUCER,
        "schemaURL": DATASET_EVENT_SCHEMA,
        "dataset": {
            "namespace": namespace,
            "name": name,
            "facets": {
                "schema": {
                    "_producer": PRODUCER,
                    "_schemaURL": SCHEMA_FACET,
                    "fields": [
                        {
                            "name": c["name"],
                            "type": str(c["type"]),
                            **({"description": c["comment"]} if c.get("comment") else {}),
                        }
                        for c in columns
                    ],
                },
                # Nullability and the object kind, which the schema facet has no place for.
                "olCatalogTable": {
                    "_producer": PRODUCER,
                    "_schemaURL": f"{PRODUCER}#OlCatalogTableFacet",
                    "kind": kind,
                    "columns": [{"name": c["name"], "nullable": bool(c.get("nullable", True))} for c in columns],
                },
            },
        },
    }


def extract_metadata(
    conn_ids: list[str],
    schemas: list[str] | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    catalog_conn_id: str = "ol_catalog_default",
) -> dict:
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow 3.1
        from airflow.hooks.base import BaseHook  # type: ignore[attr-defined,no-redef]  # its place in Airflow 3.1
    from sqlalchemy import inspect

    client = CatalogClient.from_connection(catalog_conn_id)
    when = datetime.now(timezone.utc).isoformat()
    datasets = 0
    failed_schemas: list[str] = []
    failed_connections: list[str] = []
    for conn_id in conn_ids:
        engine = None
        try:  # a Connection that cannot be read or reached stops no other
            connection = BaseHook.get_connection(conn_id)
            source = data_source(
                conn_id,
                connection.conn_type or "",
                connection.host,
                connection.port,
                connection.schema,
                connection.extra,
            )
            if source is None or not source.is_sql:
                log.warning("%s (%s) is not a SQL data source: skipped", conn_id, connection.conn_type)
                continue
            namespace = _namespace(connection.conn_type or "", connection.host, connection.port, source.scheme)
            engine = connection.get_hook().get_sqlalchemy_engine()
            inspector = inspect(engine)
            found_schemas = schemas or [s for s in inspector.get_schema_names() if s.lower() not in SYSTEM_SCHEMAS]
        except Exception as exc:
            log.error("%s failed, going on with the other Connections: %s", conn_id, exc)
            failed_connections.append(conn_id)
            if engine is not None:
                engine.dispose()
            continue
        try:
            for schema in found_schemas:
                try:
                    objects = [(t, "TABLE") for t in inspector.get_table_names(schema=schema)] + [
                        (v, "VIEW") for v in inspector.get_view_names(schema=schema)
                    ]
                    events = []
                    for table, kind in objects:
                        if not _wanted(f"{schema}.{table}", include, exclude):
                            continue
                        name = ".".join(p for p in (source.database, schema, table) if p)
                        events.append(_event(namespace, name, inspector.get_columns(table, schema=schema), kind, when))
                    for start in range(0, len(events), SEND_BATCH):
                        answer = client.post("lineage/batch", events[start : start + SEND_BATCH])
                        if answer["summary"]["failed"]:
                            log.warning(
                                "%s: %d tables refused: %s",
                                schema,
                                answer["summary"]["failed"],
                                answer["failed_events"][:3],
                            )
                    datasets += len(events)
                    log.info("%s %s.%s: %d tables and views sent", conn_id, source.database or "", schema, len(events))
                except Exception as exc:
                    log.error("%s schema %s failed, going on with the others: %s", conn_id, schema, exc)
                    failed_schemas.append(f"{conn_id}:{schema}")
        finally:
            engine.dispose()
    if failed_connections:  # after the others: the task fails, so its alerts fire
        raise RuntimeError(
            f"{len(failed_connections)} of {len(conn_ids)} Connections could not be crawled: "
            f"{', '.join(failed_connections)} (the others sent {datasets} tables and views; see the log)"
        )
    return {"datasets": datasets, "failedSchemas": failed_schemas}
