"""What the read path's cache of job and dataset views (lineage/view_cache) keys on.

Each job and dataset row has a `view_stamp` that every write changing it as the read API shows it
bumps: the projection in the upserts it makes anyway, and in one statement for what an event
changes without naming it (the jobs whose runs read a dataset that gained a schema version, the
datasets a run wrote once the run ends). Writes whose effect crosses many rows (hiding, tags,
aliases, retention, data-source matches) bump one catalog-wide generation instead: they are rare,
and finding every view they touch would cost more than building those views again.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, literal_column, select, update

from airflow_ol_catalog.store.sql import in_list, list_value, lock_first, write
from airflow_ol_catalog.store.tables import dataset, edge, job, view_generation

# `lock_first`'s keys, in the order the tables are locked: jobs, then datasets.
JOBS_LOCK, DATASETS_LOCK = "1 jobs", "2 datasets"

# A literal, not a parameter: a parameter in an upsert's SET would keep store/sql from sending it raw.
ONE: ColumnElement[int] = literal_column("1", Integer)


def generation(conn: Connection) -> int:
    return int(conn.execute(select(view_generation.c.value)).scalar_one_or_none() or 0)


def bump_generation(conn: Connection) -> None:
    conn.execute(update(view_generation).values(value=view_generation.c.value + 1))


@functools.cache
def _bumps(dialect: str) -> dict[str, Any]:
    """Built once: on SQLite the ingest path sends them straight to the driver (store/sql.execute)."""
    users = select(edge.c.job_id).where(in_list(dialect, edge.c.dataset_id, "ids"))
    jobs_using: ColumnElement[bool] = job.c.id.in_(users)
    if dialect == "postgresql":
        # Locked in id order, not in the order the plan meets them (the heap's, which updates
        # reshuffle): two writers bumping overlapping jobs never each hold one the other waits for.
        ordered = select(job.c.id).where(jobs_using).order_by(job.c.id).with_for_update().subquery()
        jobs_using = job.c.id == ordered.c.id
    return {
        "datasets": update(dataset)
        .where(in_list(dialect, dataset.c.id, "ids"))
        .values(view_stamp=dataset.c.view_stamp + ONE),
        "jobs_using": update(job).where(jobs_using).values(view_stamp=job.c.view_stamp + ONE),
        # PostgreSQL, at the start of the last round trip (store/sql.py `lock_first`): the jobs, then
        # the datasets, the transaction's writes update, in the order of their unique names, as the
        # projection's own update of them sorts its rows (Python's order of strings: bytes, "C").
        "lock_jobs": select(job.c.id)
        .where(
            job.c.id.in_(
                # a union, not an OR, which PostgreSQL plans as a scan of the whole table
                select(job.c.id)
                .where(in_list(dialect, job.c.id, "ids"))
                .union(select(edge.c.job_id).where(in_list(dialect, edge.c.dataset_id, "using")))
            )
        )
        .order_by(job.c.namespace.collate("C"), job.c.name.collate("C"))
        .with_for_update(),
        "lock_datasets": select(dataset.c.id)
        .where(in_list(dialect, dataset.c.id, "ids"))
        .order_by(dataset.c.namespace_key.collate("C"), dataset.c.name.collate("C"))
        .with_for_update(),
    }


def lock_jobs(
    conn: Connection, job_ids: Collection[int] = (), using: Collection[int] = (), needed: bool = False
) -> None:
    """Before the transaction's last writes, lock these jobs and those using these datasets, if
    one of the writes that update jobs is `needed` (a second write of the table)."""
    statement = _bumps(conn.dialect.name)["lock_jobs"]
    lock_first(conn, JOBS_LOCK, statement, {"ids": job_ids, "using": using}, needed)


def lock_datasets(conn: Connection, dataset_ids: Collection[int], needed: bool = False) -> None:
    """As `lock_jobs`, for datasets (after the jobs)."""
    lock_first(conn, DATASETS_LOCK, _bumps(conn.dialect.name)["lock_datasets"], {"ids": dataset_ids}, needed)


def bump_datasets(conn: Connection, dataset_ids: Collection[int]) -> None:
    if dataset_ids:
        dialect = conn.dialect.name
        lock_datasets(conn, dataset_ids, needed=True)
        write(conn, _bumps(dialect)["datasets"], {"ids": list_value(dialect, dataset_ids)})


def bump_jobs_using(conn: Connection, dataset_ids: Collection[int]) -> None:
    """The jobs that read or write any of these datasets (their runs show the datasets' versions)."""
    if dataset_ids:
        dialect = conn.dialect.name
        lock_jobs(conn, using=dataset_ids, needed=True)
        write(conn, _bumps(dialect)["jobs_using"], {"ids": list_value(dialect, dataset_ids)})
