"""Provider metadata read by Airflow's ProvidersManager (config reference, DB manager, CLI)."""

from __future__ import annotations

from airflow_ol_catalog import __version__

SECTION = "ol_catalog"


def _option(description: str, type_: str, default: str, example: str, sensitive: bool = False) -> dict[str, str | bool]:
    option: dict[str, str | bool] = {
        "description": description,
        "version_added": "0.1.0",
        "type": type_,
        "example": example,
        "default": default,
    }
    if sensitive:
        option["sensitive"] = True
    return option


CONFIG_OPTIONS = {
    "sql_alchemy_conn": _option(
        "SQLAlchemy URL of a separate database for the catalog's tables. Empty (the default) keeps "
        "them in Airflow's metadata database. `airflow db migrate` migrates whichever is in use.",
        "string",
        "",
        "postgresql+psycopg2://catalog:secret@db.internal:5432/lineage",
        sensitive=True,
    ),
    "unknown_namespace_policy": _option(
        "What happens to an event whose owner namespace (job namespace, or dataset namespace for a "
        "DatasetEvent) is not registered yet. `register` creates the namespace on first event; "
        "`quarantine` stores the event but keeps it out of the catalog until an admin creates the "
        "namespace and replays it; `reject` refuses it with 422.",
        "string",
        "register",
        "quarantine",
    ),
    "max_body_bytes": _option(
        "Largest accepted request body in bytes, checked before the body is read in full and again "
        "after gzip inflation. Larger bodies are refused with 413.",
        "integer",
        "16777216",
        "4194304",
    ),
    "max_batch_events": _option(
        "Most events accepted in one request to the batch endpoint; a longer array is refused "
        "with 413 so the client can split it.",
        "integer",
        "5000",
        "1000",
    ),
    "max_json_depth": _option(
        "Deepest nesting of JSON arrays and objects accepted in an event, at most 200 (the default; a "
        "higher value is lowered to it, with a warning): the read API's answers hold an event's facets "
        "a few levels deeper, and JSON answers nest at most 255 levels. Deeper bodies are refused with 400.",
        "integer",
        "200",
        "64",
    ),
    "max_future_seconds": _option(
        "How far ahead of the API server's clock an event's `eventTime` may be, in seconds. Later "
        "events are refused with 422: the newest event's facets win, so an event dated years ahead "
        "would keep its facets in place against every later, legitimate event. At most a century "
        "(more is lowered, with a warning).",
        "integer",
        "86400",
        "3600",
    ),
    "max_graph_nodes": _option(
        "Most nodes in one lineage graph answer. A larger graph stops at the last hop that fits and "
        "says `truncated: true`; ask for less depth or one direction to see further.",
        "integer",
        "5000",
        "20000",
    ),
    "view_cache_size": _option(
        "How many job and dataset views each API server process keeps in memory between requests "
        "for the nodes of lineage graphs. A deep graph carries every job with its latest run and "
        "every dataset with its schema; a view kept is used again until a write changes it. Views "
        "are also kept in the catalog's database for every process, whatever this says. About 6 KB "
        "each on average for jobs of 20 inputs and outputs and their datasets; whatever their number, "
        "the views kept weigh at most 256 MB (a dataset of a thousand columns: about 300 KB). "
        "0 keeps none in memory.",
        "integer",
        "10000",
        "50000",
    ),
    "view_prebuild": _option(
        "Build the lineage views of the jobs and datasets that writes changed ahead of any graph, "
        "in the API server's background, and keep them in the catalog's database: the first deep "
        "graph over them then reads them instead of building them while its caller waits. They are "
        "built between bursts of events; while events keep coming, one batch of 10 a second. Views "
        "of nodes that graphs showed lately are kept up to date after writes whatever this says. "
        "Set to False on an API server whose CPU is needed for other work between bursts of events.",
        "boolean",
        "True",
        "False",
    ),
    "view_cache_check": _option(
        "Build every kept view (in memory or in the database) again when it is used and answer an "
        "error when the two differ. For "
        "tests of the catalog itself: it makes lineage graphs slower than keeping no views at all.",
        "boolean",
        "False",
        "True",
    ),
    "gc_freeze": _option(
        "Once the API server has loaded (on the catalog's first request), run one garbage "
        "collection and then exclude the objects that remain from Python's later collections "
        "(`gc.freeze()`). Airflow's API server holds a large, long-lived heap; without this, full "
        "collections under load pause every request for a few hundred milliseconds. Objects "
        "created later are collected as usual. Set to False to leave the collector untouched.",
        "boolean",
        "True",
        "False",
    ),
    "airflow_namespaces": _option(
        "The namespaces of this Airflow's OpenLineage jobs, comma-separated: its DAG, DAG run and "
        "task instance Lineage tabs read DAGs and tasks only there, so a producer writing another "
        "namespace cannot stand in for them. Empty (the default): the OpenLineage provider's own "
        "`[openlineage] namespace`. Set it when the routing transport rewrites the namespace of "
        "Airflow's jobs for the catalog, or when several namespaces hold them.",
        "string",
        "",
        "airflow-prod,airflow-prod-eu",
    ),
    "prepared_statements": _option(
        "On PostgreSQL, prepare the statements that store events once per database session and "
        "run them by name, so that PostgreSQL plans them once instead of for every event (a third "
        "less of PostgreSQL's work per event; see Performance). Set to False when the catalog "
        "reaches PostgreSQL through a connection pooler in transaction mode, such as PgBouncer with "
        "`pool_mode = transaction`, which does not keep a session's prepared statements from one "
        "transaction to the next. No effect on SQLite.",
        "boolean",
        "True",
        "False",
    ),
}


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-ol-catalog",
        "name": "OpenLineage Catalog",
        "description": "An OpenLineage lineage catalog inside Airflow: an ingestion endpoint for any "
        "producer, a catalog of jobs, runs and datasets with a read API, and lineage views in the UI.",
        "versions": [__version__],
        "config": {
            SECTION: {
                "description": "Settings of the OpenLineage lineage catalog (airflow-ol-catalog).",
                "options": CONFIG_OPTIONS,
            }
        },
        "db-managers": ["airflow_ol_catalog.store.db_manager.CatalogDBManager"],
        "cli": ["airflow_ol_catalog.cli.get_cli_commands"],
    }
