"""Daily: record the tables, views and columns of chosen Connections in the catalog as datasets with schema."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

with DAG(
    "ol_catalog_extract_metadata",
    schedule=timedelta(days=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # A source or a catalog that stops answering fails the run (its alerts fire) instead of holding it.
    default_args={"execution_timeout": timedelta(hours=6)},
    tags=["ol-catalog"],
    params={
        "conn_ids": Param([], type="array", description="Connections to crawl (SQL databases)."),
        "schemas": Param([], type="array", description="Only these schemas; empty: all but system schemas."),
        "include": Param([], type="array", description="Only schema.table names matching one of these globs."),
        "exclude": Param([], type="array", description="Skip schema.table names matching one of these globs."),
        "catalog_conn_id": Param("ol_catalog_default", type="string"),
    },
    doc_md=__doc__,
):

    @task
    def extract(params=None) -> dict:
        from airflow_ol_catalog.maintenance.extract import extract_metadata

        return extract_metadata(
            params["conn_ids"],
            params["schemas"] or None,
            params["include"] or None,
            params["exclude"] or None,
            params["catalog_conn_id"],
        )

    extract()
