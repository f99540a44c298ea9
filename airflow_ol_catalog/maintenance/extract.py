"""ol_catalog_extract_metadata: tables, views and columns of chosen Connections, sent as DatasetEvents.

They go through the ingestion API under the namespace OpenLineage gives the data source, so the
lineage that producers send attaches to the cataloged tables. One Connection, schema or table
failing does not stop the others; the task fails at the end if any did, or if the catalog did not
take what was sent (refused, or kept out of the catalog under its unknown-namespace policy), so
its alerts fire.
"""

from __future__ import annotations

import fnmatch
import logging
from datetime import datetime, timezone
from urllib.parse import quote

from airflow_ol_catalog import __version__
from airflow_ol_catalog.maintenance.client import CatalogClient, CatalogError
from airflow_ol_catalog.maintenance.sources import airflow_connection, source_engine, source_of, table_columns

log = logging.getLogger(__name__)

PRODUCER = f"https://pypi.org/project/airflow-ol-catalog/{__version__}"
DATASET_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
DOCUMENTATION_FACET = (
    "https://openlineage.io/spec/facets/1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"
)
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


def _event(namespace: str, name: str, columns: list[dict], kind: str, when: str, comment: str | None = None) -> dict:
    documentation = {
        "documentation": {"_producer": PRODUCER, "_schemaURL": DOCUMENTATION_FACET, "description": comment}
    }
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
                            "type": c["type"],
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
                **(documentation if comment else {}),
            },
        },
    }


def _comments(inspector, schema: str) -> dict[str, str]:
    """The comments of the schema's tables and views, read at once; none where the database keeps
    none (SQLite)."""
    from sqlalchemy.engine.reflection import ObjectKind

    try:
        found = inspector.get_multi_table_comment(schema=schema, kind=ObjectKind.ANY)
    except NotImplementedError:
        return {}
    return {key[1]: c["text"] for key, c in found.items() if isinstance(c.get("text"), str) and c["text"].strip()}


def _taken(client: CatalogClient, namespace: str) -> bool:
    """Whether the catalog takes events of this namespace: not kept out by its unknown-namespace
    policy (unregistered under `quarantine`, deleted)."""
    try:
        client.get(f"namespaces/{quote(namespace, safe='')}")
    except CatalogError as exc:
        if " 404 " in str(exc):
            return False
        raise
    return True


def extract_metadata(
    conn_ids: list[str],
    schemas: list[str] | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    catalog_conn_id: str = "ol_catalog_default",
) -> dict:
    from sqlalchemy import inspect

    client = CatalogClient.from_connection(catalog_conn_id)
    when = datetime.now(timezone.utc).isoformat()
    datasets = 0
    failed_schemas: list[str] = []
    failed_connections: list[str] = []
    failed_tables: list[str] = []  # could not be read, refused by the catalog, or kept out of it
    kept_out: dict[str, bool] = {}  # per namespace: asked of the catalog once a run
    for conn_id in conn_ids:
        engine = None
        try:  # a Connection that cannot be read or reached stops no other
            connection = airflow_connection(conn_id)
            source = source_of(conn_id, connection)
            if source is None or not source.is_sql:
                log.warning("%s (%s) is not a SQL data source: skipped", conn_id, connection.conn_type)
                continue
            namespace = _namespace(connection.conn_type or "", connection.host, connection.port, source.scheme)
            engine = source_engine(conn_id, connection, source)
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
                    if not objects and schemas:
                        log.warning("%s: schema %s holds no tables or views (does it exist?)", conn_id, schema)
                    comments = _comments(inspector, schema) if objects else {}
                    events = []
                    for table, kind in objects:
                        if not _wanted(f"{schema}.{table}", include, exclude):
                            continue
                        name = ".".join(p for p in (source.database, schema, table) if p)
                        try:  # a view over a dropped table cannot be read: the others still can
                            columns = table_columns(inspector, source.scheme, schema, table)
                        except Exception as exc:
                            log.error(
                                "%s %s.%s cannot be read, going on with the others: %s", conn_id, schema, table, exc
                            )
                            failed_tables.append(f"{conn_id}:{schema}.{table}")
                            continue
                        events.append(_event(namespace, name, columns, kind, when, comments.get(table)))
                    taken: list[str] = []
                    for start in range(0, len(events), SEND_BATCH):
                        chunk = events[start : start + SEND_BATCH]
                        answer = client.post("lineage/batch", chunk)
                        refused = {item["index"]: item["reason"] for item in answer["failed_events"]}
                        for index, event in enumerate(chunk):
                            name = event["dataset"]["name"]
                            if index in refused:
                                log.error("%s: %s refused: %s", schema, name, refused[index])
                                failed_tables.append(f"{conn_id}:{name}")
                            else:
                                taken.append(name)
                    if taken and namespace not in kept_out:
                        kept_out[namespace] = not _taken(client, namespace)
                    if taken and kept_out[namespace]:
                        log.error(
                            "%s %s: the catalog keeps namespace %s out (its unknown_namespace_policy; register it)",
                            conn_id,
                            schema,
                            namespace,
                        )
                        failed_tables += [f"{conn_id}:{name}" for name in taken]
                        taken = []
                    sent = len(taken)
                    datasets += sent
                    log.info("%s %s.%s: %d tables and views sent", conn_id, source.database or "", schema, sent)
                except Exception as exc:
                    log.error("%s schema %s failed, going on with the others: %s", conn_id, schema, exc)
                    failed_schemas.append(f"{conn_id}:{schema}")
        finally:
            engine.dispose()
    failed = [
        f"{len(found)} {what}: {', '.join(found[:10])}{' ...' if len(found) > 10 else ''}"
        for what, found in (
            (f"of {len(conn_ids)} Connections could not be crawled", failed_connections),
            ("schemas could not be read", failed_schemas),
            ("tables or views were not cataloged", failed_tables),
        )
        if found
    ]
    if failed:  # after the others: the task fails, so its alerts fire
        raise RuntimeError(f"{'; '.join(failed)} (the rest sent {datasets} tables and views; see the log)")
    if not conn_ids:
        log.warning("no Connections to crawl: give conn_ids (the DAG's params) to extract their tables")
    return {"datasets": datasets, "failedSchemas": failed_schemas}
