"""Daily: delete raw events and runs older than the window (newest runs of each job kept); lineage edges stay."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

with DAG(
    "ol_catalog_retention",
    schedule=timedelta(days=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # A source or a catalog that stops answering fails the run (its alerts fire) instead of holding it.
    default_args={"execution_timeout": timedelta(hours=3)},
    tags=["ol-catalog"],
    params={
        "days": Param(90, type="integer", minimum=1, description="Keep what was seen in this many days."),
        "keep_runs_per_job": Param(
            10, type="integer", minimum=0, description="Keep this many newest runs of each job, however old."
        ),
        "dry_run": Param(False, type="boolean", description="Count what would go; delete nothing."),
        "catalog_conn_id": Param("ol_catalog_default", type="string"),
    },
    doc_md=__doc__,
):

    @task
    def retention(params=None) -> dict:
        from airflow_ol_catalog.maintenance.retention_task import run_retention

        return run_retention(params["days"], params["keep_runs_per_job"], params["dry_run"], params["catalog_conn_id"])

    retention()
