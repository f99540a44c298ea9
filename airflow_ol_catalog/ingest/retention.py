"""ol_catalog_retention: old raw events and runs go, in bounded batches; lineage edges stay.

A run goes when it ended (or was last heard of) before the window and is not among the newest
`keep_runs_per_job` runs of its job; with it go its inputs/outputs links and facets. A raw event
goes when it is older than the window and its run no longer exists (or it has no run). Edges,
datasets, versions and column lineage are never removed: they say what was seen, with first/last
seen times. Each batch is its own transaction, so ingestion goes on between them, and memory
stays bounded by the batch size whatever the size of the catalog.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, delete, exists, func, select

from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.sql import utcnow
from airflow_ol_catalog.store.tables import event, facet, run, run_dataset
from airflow_ol_catalog.store.view_stamps import bump_generation

log = logging.getLogger(__name__)

BATCH = 5000


def _old_runs(cutoff: datetime, keep: int) -> Select[Any]:
    ranked = select(
        run.c.id,
        func.coalesce(run.c.ended_at, run.c.last_event_at).label("seen"),
        func.row_number()
        .over(
            partition_by=run.c.job_id,
            order_by=(func.coalesce(run.c.started_at, run.c.first_event_at).desc(), run.c.id.desc()),
        )
        .label("rank"),
    ).subquery()
    return select(ranked.c.id).where(ranked.c.rank > keep, ranked.c.seen < cutoff)


def _old_events(cutoff: datetime, going_runs: Select[Any] | None = None) -> Select[Any]:
    """Raw events before the cutoff whose run is gone: already, or (`going_runs`) about to be."""
    has_run = exists().where(run.c.run_id == event.c.run_id)
    if going_runs is not None:
        has_run = has_run.where(run.c.id.not_in(going_runs))
    return select(event.c.id).where(
        event.c.event_time < cutoff, event.c.quarantined.is_(False), ~and_(event.c.run_id.is_not(None), has_run)
    )


def apply_retention(
    engine: Engine, days: int, keep_runs_per_job: int, dry_run: bool = False, batch: int = BATCH
) -> dict[str, Any]:
    """Returns how many runs and events were (or, with dry_run, would be) deleted, and the time it took."""
    started = time.monotonic()
    cutoff = utcnow() - timedelta(days=days)
    if dry_run:
        with read_connection(engine) as conn:
            going = _old_runs(cutoff, keep_runs_per_job)
            runs = conn.execute(select(func.count()).select_from(going.subquery())).scalar_one()
            # The events the real run deletes once those runs are gone.
            events = conn.execute(select(func.count()).select_from(_old_events(cutoff, going).subquery())).scalar_one()
        return {"dryRun": True, "runs": runs, "events": events, "seconds": round(time.monotonic() - started, 2)}
    runs = events = 0
    while True:
        with write_transaction(engine) as conn:
            ids = conn.execute(_old_runs(cutoff, keep_runs_per_job).limit(batch)).scalars().all()
            if not ids:
                break
            conn.execute(delete(run_dataset).where(run_dataset.c.run_pk.in_(ids)))
            conn.execute(delete(facet).where(facet.c.entity == "run", facet.c.entity_id.in_(ids)))
            conn.execute(run.update().where(run.c.parent_run_pk.in_(ids)).values(parent_run_pk=None))
            conn.execute(run.update().where(run.c.root_run_pk.in_(ids)).values(root_run_pk=None))
            runs += conn.execute(delete(run).where(run.c.id.in_(ids))).rowcount
            bump_generation(conn)
    while True:
        with write_transaction(engine) as conn:
            ids = conn.execute(_old_events(cutoff).limit(batch)).scalars().all()
            if not ids:
                break
            events += conn.execute(delete(event).where(event.c.id.in_(ids))).rowcount
            bump_generation(conn)  # a dataset's quality names the events that sent it
    log.info("retention: %d runs and %d raw events deleted", runs, events)
    return {"dryRun": False, "runs": runs, "events": events, "seconds": round(time.monotonic() - started, 2)}
