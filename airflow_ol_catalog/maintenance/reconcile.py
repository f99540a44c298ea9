"""ol_catalog_reconcile: match datasets to Airflow Connections, then compare matched tables with their lineage schema."""

from __future__ import annotations

import logging
from typing import Any

from airflow_ol_catalog.events.datasources import compare_schema, table_address
from airflow_ol_catalog.maintenance.client import CatalogClient
from airflow_ol_catalog.maintenance.sources import airflow_connection, source_engine, source_of, table_columns

log = logging.getLogger(__name__)

# Checks are stored as they are made, this many at a time: a run stopped part way keeps those made.
CHECKS_PER_POST = 200


class _Sources:
    """Each Connection's engine and inspector, made once per run; a Connection that failed to
    connect is not tried again in the run (each try would wait out the driver's connect timeout)."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[Any, str | None]] = {}  # its inspector, and the database it opens
        self._engines: list[Any] = []
        self._failed: dict[str, str] = {}

    def columns(self, conn_id: str, scheme: str, name: str) -> list[dict] | None:
        """The table's columns, as the source names their types; None when there is no such table."""
        if conn_id in self._failed:
            raise RuntimeError(f"{conn_id} failed earlier in this run: {self._failed[conn_id]}")
        try:
            inspector, database = self._opened(conn_id)
        except Exception as exc:
            self._failed[conn_id] = str(exc)[:300]
            raise
        found = stored_table(inspector, scheme, *table_address(name, scheme, database))
        if found is None:
            return None
        return table_columns(inspector, scheme, *found)

    def _opened(self, conn_id: str) -> tuple[Any, str | None]:
        if conn_id not in self._open:
            from sqlalchemy import inspect

            connection = airflow_connection(conn_id)
            source = source_of(conn_id, connection)
            engine = source_engine(conn_id, connection, source)
            self._engines.append(engine)
            self._open[conn_id] = (inspect(engine), source.database if source else None)
        return self._open[conn_id]

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


# Databases that store a name written without quotes in lower case (`public.ORDERS` is table orders).
FOLDS_TO_LOWER_CASE = {"postgres", "redshift"}


def stored_table(inspector: Any, scheme: str, schema: str | None, table: str) -> tuple[str | None, str] | None:
    """(schema, table) as the source stores the table a dataset names, or None when it has none: as
    written, else, where the database folds names written without quotes, in lower case."""
    tried = [(schema, table)]
    if scheme in FOLDS_TO_LOWER_CASE:
        tried.append((schema.lower() if schema else schema, table.lower()))
    for where in dict.fromkeys(tried):
        if inspector.has_table(where[1], schema=where[0]):
            return where
    return None


def reconcile_data_sources(dry_run: bool = False, catalog_conn_id: str = "ol_catalog_default") -> dict:
    """One reconciliation; returns (and logs) a summary. With dry_run nothing is stored."""
    client = CatalogClient.from_connection(catalog_conn_id)
    result = client.post("admin/reconciliation/match", dryRun=str(dry_run).lower())
    checks: list[dict[str, Any]] = []
    sources = _Sources()
    try:
        for item in result["toCheck"]:
            found = {"namespace": item["namespace"], "name": item["name"], "connId": item["connId"]}
            try:
                check = compare_schema(item["fields"], sources.columns(item["connId"], item["scheme"], item["name"]))
                checks.append({**found, "status": check.status, "evidence": check.evidence()})
            except Exception as exc:  # one unreachable source does not stop the others
                log.warning("cannot check %s %s through %s: %s", item["namespace"], item["name"], item["connId"], exc)
                checks.append({**found, "status": "error", "evidence": {"error": str(exc)[:500]}})
            if not dry_run and len(checks) % CHECKS_PER_POST == 0:
                client.post("admin/reconciliation/checks", {"checks": checks[-CHECKS_PER_POST:]})
    finally:
        sources.close()
    if not dry_run and len(checks) % CHECKS_PER_POST:
        client.post("admin/reconciliation/checks", {"checks": checks[-(len(checks) % CHECKS_PER_POST) :]})
    counts = result["counts"]
    by_status = {s: sum(1 for c in checks if c["status"] == s) for s in ("ok", "missing", "drifted", "error")}
    log.info(
        "datasets: %d matched, %d unmatched, %d ambiguous; tables checked: %d ok, %d missing, %d drifted, %d error%s",
        counts["matched"],
        counts["unmatched"],
        counts["ambiguous"],
        by_status["ok"],
        by_status["missing"],
        by_status["drifted"],
        by_status["error"],
        " (dry run: nothing stored)" if dry_run else "",
    )
    for entry in result["namespaces"]:
        log.info(
            "%s namespace %s%s",
            entry["status"],
            entry["namespace"],
            f": {entry['suggestion']}"
            if entry.get("suggestion")
            else (f" (candidates: {', '.join(entry['candidates'])})" if entry["candidates"] else ""),
        )
    for checked in checks:
        if checked["status"] != "ok":
            log.info("%s %s: %s %s", checked["namespace"], checked["name"], checked["status"], checked["evidence"])
    return {"counts": counts, "checks": by_status, "namespaces": result["namespaces"], "dryRun": dry_run}
