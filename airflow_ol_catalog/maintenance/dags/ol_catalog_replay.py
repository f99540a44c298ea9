"""Hourly (and on demand): replay quarantined events whose namespace now exists; make the asset
events of writes to marked datasets still waiting; flush the routing transport's spool."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

with DAG(
    "ol_catalog_replay",
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # A source or a catalog that stops answering fails the run (its alerts fire) instead of holding it.
    default_args={"execution_timeout": timedelta(hours=1)},
    tags=["ol-catalog"],
    params={"catalog_conn_id": Param("ol_catalog_default", type="string")},
    doc_md=__doc__,
):

    @task
    def replay_quarantine(params=None) -> dict:
        from airflow_ol_catalog.maintenance.replay import replay_quarantine

        return replay_quarantine(params["catalog_conn_id"])

    @task
    def emit_asset_events(params=None) -> dict:
        from airflow_ol_catalog.maintenance.replay import emit_asset_events

        return emit_asset_events(params["catalog_conn_id"])

    @task
    def flush_spools() -> dict:
        from airflow_ol_catalog.maintenance.replay import flush_transport_spools

        return flush_transport_spools()

    replay_quarantine() >> emit_asset_events()  # replayed events may queue writes
    flush_spools()
