"""ol_catalog_reconcile: match datasets to Airflow Connections, then compare matched tables with their lineage schema."""

from __future__ import annotations

import logging

from airflow_ol_catalog.events.datasources import compare_schema, table_address
from airflow_ol_catalog.maintenance.client import CatalogClient

log = logging.getLogger(__name__)


def _table_columns(conn_id: str, scheme: str, name: str) -> list[dict] | None:
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow 3.1
        from airflow.hooks.base import BaseHook
    from sqlalchemy import inspect

    hook = BaseHook.get_connection(conn_id).get_hook()
    engine = hook.get_sqlalchemy_engine()
    try:
        inspector = inspect(engine)
        schema, table = table_address(name, scheme)
        if not inspector.has_table(table, schema=schema):
            return None
        return [{"name": c["name"], "type": str(c["type"])} for c in inspector.get_columns(table, schema=schema)]
    finally:
        engine.dispose()


def reconcile_data_sources(dry_run: bool = False, catalog_conn_id: str = "ol_catalog_default") -> dict:
    """One reconciliation; returns (and logs) a summary. With dry_run nothing is stored."""
    client = CatalogClient.from_connection(catalog_conn_id)
    result = client.post("admin/reconciliation/match", dryRun=str(dry_run).lower())
    checks = []
    for item in result["toCheck"]:
        try:
            check = compare_schema(item["fields"], _table_columns(item["connId"], item["scheme"], item["name"]))
            checks.append(
                {
                    "namespace": item["namespace"],
                    "name": item["name"],
                    "status": check.status,
                    "evidence": check.evidence(),
                }
            )
        except Exception as exc:  # one unreachable source does not stop the others
            log.warning("cannot check %s %s through %s: %s", item["namespace"], item["name"], item["connId"], exc)
            checks.append(
                {
                    "namespace": item["namespace"],
                    "name": item["name"],
                    "status": "error",
                    "evidence": {"error": str(exc)[:500]},
                }
            )
    if not dry_run and checks:
        client.post("admin/reconciliation/checks", {"checks": checks})
    counts = result["counts"]
    by_status = {s: sum(1 for c in checks if c["status"] == s) for s in ("ok", "missing", "drifted", "error")}
    log.info(
        "datasets: %d matched, %d unmatched, %d ambiguous; tables checked: %d ok, %d missing, %d drifted, %d unreachable%s",
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
    for check in checks:
        if check["status"] != "ok":
            log.info("%s %s: %s %s", check["namespace"], check["name"], check["status"], check["evidence"])
    return {"counts": counts, "checks": by_status, "namespaces": result["namespaces"], "dryRun": dry_run}
