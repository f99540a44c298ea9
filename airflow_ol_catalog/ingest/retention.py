"""ol_catalog_retention: old raw events and runs go, in bounded batches; lineage edges stay.

A run goes when it ended (or was last heard of) before the window and is not among the newest
`keep_runs_per_job` runs of its job; with it go its inputs/outputs links and facets. A raw event
goes when it is older than the window and its run no longer exists (or it has no run). Edges,
datasets, versions and column lineage are never removed: they say what was seen, with first/last
seen times. Each batch is its own transaction, so ingestion goes on between them, and memory
stays bounded by the batch size whatever the size of the catalog.

On PostgreSQL the log is partitioned by month (store/partitions.py): a month wholly before the
window none of whose events stays is dropped as one table, and the months ahead are made ready.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, delete, exists, func, select
from sqlalchemy.exc import DBAPIError, OperationalError

from airflow_ol_catalog.store import partitions
from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.event_tally import count_out, count_out_where
from airflow_ol_catalog.store.sql import utcnow
from airflow_ol_catalog.store.tables import asset_trigger_run, event, facet, run, run_dataset
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
    return select(event.c.id).where(event.c.event_time < cutoff, ~_stays(going_runs))


def _stays(going_runs: Select[Any] | None = None) -> Any:
    """An event retention keeps whatever its age: quarantined, or its run is still there."""
    has_run = exists().where(run.c.run_id == event.c.run_id)
    if going_runs is not None:
        has_run = has_run.where(run.c.id.not_in(going_runs))
    return event.c.quarantined.is_(True) | and_(event.c.run_id.is_not(None), has_run)


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
            months = _months_wholly_going(conn, cutoff, going)
        return _report(True, runs, events, months, started)
    runs = events = months = 0
    while True:
        with write_transaction(engine) as conn:
            ids = conn.execute(_old_runs(cutoff, keep_runs_per_job).limit(batch)).scalars().all()
            if not ids:
                break
            if conn.dialect.name == "postgresql":
                # The runs first, in the writers' order (by job, then run id as Python sorts it):
                # a writer locks a run before its links, and would otherwise meet these deletes
                # holding the run while they hold its links.
                runs_first = select(run.c.id).where(run.c.id.in_(ids))
                conn.execute(runs_first.order_by(run.c.job_id, run.c.run_id.collate("C")).with_for_update())
            conn.execute(delete(run_dataset).where(run_dataset.c.run_pk.in_(ids)))
            conn.execute(delete(facet).where(facet.c.entity == "run", facet.c.entity_id.in_(ids)))
            conn.execute(run.update().where(run.c.parent_run_pk.in_(ids)).values(parent_run_pk=None))
            conn.execute(run.update().where(run.c.root_run_pk.in_(ids)).values(root_run_pk=None))
            # Their writes that triggered Airflow stay listed, no longer tied to a run row: on
            # SQLite a later run may get a deleted one's id, and its write would count as queued.
            trigger_runs = asset_trigger_run.update().where(asset_trigger_run.c.run_pk.in_(ids))
            conn.execute(trigger_runs.values(run_pk=None))
            runs += conn.execute(delete(run).where(run.c.id.in_(ids))).rowcount
            bump_generation(conn)
    for dropped in _drop_old_months(engine, cutoff):
        months += 1
        events += dropped
    while True:
        with write_transaction(engine) as conn:
            ids = conn.execute(_old_events(cutoff).limit(batch)).scalars().all()
            if not ids:
                break
            bump_generation(conn)  # a dataset's quality names the events that sent it (first, as ingest)
            removed = conn.execute(
                delete(event)
                .where(event.c.id.in_(ids))
                .returning(event.c.received_at, event.c.namespace, event.c.quarantined)
            ).all()
            events += count_out(conn, removed)
    log.info("retention: %d runs and %d raw events deleted, %d months of them whole", runs, events, months)
    return _report(False, runs, events, months, started)


def _report(dry_run: bool, runs: int, events: int, months: int, started: float) -> dict[str, Any]:
    """The admin API's answer (api/datamodels/admin.py `RetentionResult`)."""
    seconds = round(time.monotonic() - started, 2)
    return {"dryRun": dry_run, "runs": runs, "events": events, "months": months, "seconds": seconds}


def _drop_old_months(engine: Engine, cutoff: datetime) -> Iterator[int]:
    """On a partitioned log: drop each month wholly before the cutoff none of whose events stays,
    yielding how many events went with it, and make the months ahead ready.

    Whether a month's events may all go is asked first without a lock, and again under the lock
    that dropping takes anyway (writers wait meanwhile: an event may arrive late for an old month).
    A month whose lock is not granted within the timeout is left to the row-by-row deletes.
    """
    with read_connection(engine) as conn:
        if not partitions.is_partitioned(conn):
            return
    try:
        with write_transaction(engine) as conn:
            partitions.ensure_months(conn, utcnow())  # a daily retention run keeps them ready
    except DBAPIError as failed:  # not now (or not allowed): their events wait in the default partition
        log.warning("retention: the months ahead were not made (%s)", failed.orig)
    with read_connection(engine) as conn:
        old = _old_months(conn, cutoff)
    for month in old:
        with read_connection(engine) as conn:
            if _any_stays(conn, month):
                continue
        try:
            with write_transaction(engine) as conn:
                partitions.serialise_changes(conn)
                partitions.lock_log(conn)
                if month not in partitions.monthly_partitions(conn) or _any_stays(conn, month):
                    continue  # dropped by another retention run meanwhile, or an event came that stays
                bump_generation(conn)
                count = count_out_where(conn, and_(*_within(month)))  # exact: the log is locked
                partitions.drop_month(conn, month)
        except OperationalError as failed:  # the lock timed out: the rows go one by one instead
            log.warning("retention: month %s and later ones not dropped whole (%s)", month.table, failed.orig)
            return  # a long reader holds the log: writers must not queue behind one attempt per month
        yield count


def _within(month: partitions.Month) -> tuple[Any, Any]:
    return event.c.event_time >= month.start, event.c.event_time < month.end


def _old_months(conn: Connection, cutoff: datetime) -> list[partitions.Month]:
    """The log's monthly partitions wholly before the cutoff (none on SQLite)."""
    if not partitions.is_partitioned(conn):
        return []
    return [month for month in partitions.monthly_partitions(conn) if month.end <= cutoff]


def _any_stays(conn: Connection, month: partitions.Month) -> bool:
    return bool(conn.execute(select(exists().where(*_within(month), _stays()))).scalar())


def _months_wholly_going(conn: Connection, cutoff: datetime, going_runs: Select[Any]) -> int:
    """How many months retention would drop whole once those runs are gone: one pass over the old
    events, which finds the months where one stays."""
    old = _old_months(conn, cutoff)
    if not old:
        return 0
    month = func.date_trunc("month", func.timezone("UTC", event.c.event_time))
    staying = conn.execute(
        select(month).distinct().where(event.c.event_time < old[-1].end, _stays(going_runs))
    ).scalars()
    return len(set(old) - {partitions.Month.of(start.replace(tzinfo=timezone.utc)) for start in staying})
