"""Hourly: match the catalog's datasets to Airflow Connections and check matched tables against their lineage schema."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

with DAG(
    "ol_catalog_reconcile",
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # A source or a catalog that stops answering fails the run (its alerts fire) instead of holding it.
    default_args={"execution_timeout": timedelta(minutes=55)},
    tags=["ol-catalog"],
    params={
        "dry_run": Param(False, type="boolean", description="Report what matches and what drifted; store nothing."),
        "catalog_conn_id": Param(
            "ol_catalog_default", type="string", description="Connection with the API server URL and an admin token."
        ),
    },
    doc_md=__doc__,
):

    @task
    def reconcile(params=None) -> dict:
        from airflow_ol_catalog.maintenance.reconcile import reconcile_data_sources

        return reconcile_data_sources(params["dry_run"], params["catalog_conn_id"])

    reconcile()
