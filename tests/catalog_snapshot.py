"""The whole catalog as plain values keyed by natural keys (never by surrogate ids, which follow arrival order)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from airflow_ol_catalog.events.quality import QUALITY_CHECK, checked_facet
from airflow_ol_catalog.store.tables import (
    column_lineage,
    dataset,
    dataset_symlink,
    dataset_version,
    edge,
    facet,
    flow,
    job,
    run,
    run_dataset,
)


def snapshot(conn: Connection) -> dict:
    jobs = {r.id: (r.namespace, r.name) for r in conn.execute(select(job))}
    job_rows = {
        (r.namespace, r.name): (r.placeholder, jobs.get(r.parent_job_id), r.first_seen_at, r.last_seen_at, r.search_key)
        for r in conn.execute(select(job))
    }
    runs = {r.id: (jobs[r.job_id], r.run_id) for r in conn.execute(select(run))}
    run_rows = {
        runs[r.id]: (
            r.state,
            r.started_at,
            r.ended_at,
            r.placeholder,
            runs.get(r.parent_run_pk),
            runs.get(r.root_run_pk),
            r.first_event_at,
            r.last_event_at,
        )
        for r in conn.execute(select(run))
    }
    datasets = {r.id: (r.namespace_key, r.name) for r in conn.execute(select(dataset))}
    dataset_rows = {
        datasets[r.id]: (r.namespace, r.first_seen_at, r.last_seen_at, datasets.get(r.alias_of), r.search_key)
        for r in conn.execute(select(dataset))
    }
    entity = {"job": jobs, "run": runs, "dataset": datasets, QUALITY_CHECK: datasets}
    return {
        "jobs": job_rows,
        "runs": run_rows,
        "datasets": dataset_rows,
        "symlinks": {
            (datasets[r.dataset_id], datasets[r.target_id], r.type) for r in conn.execute(select(dataset_symlink))
        },
        "run_io": {
            (runs[r.run_pk], datasets[r.dataset_id], r.direction, r.ended_at) for r in conn.execute(select(run_dataset))
        },
        "edges": {
            (jobs[r.job_id], datasets[r.dataset_id], r.direction): (
                r.first_seen_at,
                r.last_seen_at,
                r.last_run_id,
                r.run_count,
                r.confirmed,
                r.declared,
            )
            for r in conn.execute(select(edge))
        },
        "facets": {
            (r.entity, entity[r.entity][r.entity_id], _facet_name(r, jobs)): (
                r.value,
                r.event_time,
                r.event_digest,
                r.search_key,
            )
            for r in conn.execute(select(facet))
        },
        "versions": {
            (datasets[r.dataset_id], r.digest): (r.fields, r.version, r.first_seen_at, r.last_seen_at, r.first_run_id)
            for r in conn.execute(select(dataset_version))
        },
        "column_lineage": {
            (
                datasets[r.output_dataset_id],
                r.output_field,
                datasets[r.input_dataset_id],
                r.input_field,
                r.type,
                r.subtype,
            ): (r.description, r.masking, jobs.get(r.job_id), r.first_seen_at, r.last_seen_at)
            for r in conn.execute(select(column_lineage))
        },
        "flows": {
            (
                r.source_kind,
                entity[r.source_kind][r.source_id],
                r.source_field,
                r.target_kind,
                entity[r.target_kind][r.target_id],
                r.target_field,
                r.relation,
            ): (
                r.detail,
                jobs.get(r.job_id),
                r.source_run_id,
                r.target_run_id,
                r.declared,
                r.observed,
                r.digest,
                r.first_seen_at,
                r.last_seen_at,
            )
            for r in conn.execute(select(flow))
        },
    }


def _facet_name(row, jobs: dict) -> object:
    """A facet's name; a test job's check names the job by its key (ids depend on arrival order)."""
    if row.entity != QUALITY_CHECK:
        return row.name
    job_id = int(row.name.rpartition(":")[2])
    return (checked_facet(row.name), jobs.get(job_id))
