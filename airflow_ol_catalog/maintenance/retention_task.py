"""The ol_catalog_retention DAG's task: it asks the catalog to apply the window (tasks have no database)."""

from __future__ import annotations

import logging

from airflow_ol_catalog.maintenance.client import CatalogClient

log = logging.getLogger(__name__)


def run_retention(
    days: int, keep_runs_per_job: int, dry_run: bool, catalog_conn_id: str = "ol_catalog_default"
) -> dict:
    client = CatalogClient.from_connection(catalog_conn_id)
    client.timeout = 3600.0  # a big catalog takes a while, in batches
    result = client.post("admin/retention", {"days": days, "keepRunsPerJob": keep_runs_per_job, "dryRun": dry_run})
    log.info(
        "%s %d runs and %d raw events older than %d days, %d months of the log whole (%.1f s)",
        "would delete" if dry_run else "deleted",
        result["runs"],
        result["events"],
        days,
        result["months"],
        result["seconds"],
    )
    return result
