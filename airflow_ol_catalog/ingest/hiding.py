"""Hiding catalog entities (admin deletes) and restoring them.

A hidden dataset or job leaves lists, searches and lineage, and a hidden job no longer
bridges lineage between its datasets. Later events still project into it but do not bring
it back: only a restore does. A hidden namespace hides its jobs with it and quarantines its
later events (see ingest/namespaces).
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from airflow_ol_catalog.events.not_found import DatasetNotFound, JobNotFound, NamespaceNotFound
from airflow_ol_catalog.ingest.namespaces import set_deleted
from airflow_ol_catalog.store.datasets import holder_of
from airflow_ol_catalog.store.sql import utcnow
from airflow_ol_catalog.store.tables import dataset, job, namespace
from airflow_ol_catalog.store.view_stamps import bump_generation


def set_dataset_hidden(conn: Connection, ns: str, name: str, hidden: bool) -> None:
    result = conn.execute(
        update(dataset).where(dataset.c.id.in_(holder_of(ns, name))).values(deleted_at=utcnow() if hidden else None)
    )
    if result.rowcount == 0:
        raise DatasetNotFound(ns, name)
    bump_generation(conn)  # the jobs that read or wrote it, and its aliases, read differently


def set_job_hidden(conn: Connection, ns: str, name: str, hidden: bool) -> None:
    result = conn.execute(
        update(job).where(job.c.namespace == ns, job.c.name == name).values(deleted_at=utcnow() if hidden else None)
    )
    if result.rowcount == 0:
        raise JobNotFound(ns, name)
    bump_generation(conn)  # its children name their parent no more


def set_namespace_hidden(conn: Connection, name: str, hidden: bool) -> None:
    """Hide a namespace with its jobs; a restore brings back the jobs hidden with it, not others."""
    row = conn.execute(select(namespace.c.deleted_at).where(namespace.c.name == name)).first()
    if row is None:
        raise NamespaceNotFound(name)
    hidden_at = set_deleted(conn, name, hidden).deleted_at
    bump_generation(conn)
    if hidden:
        conn.execute(
            update(job).where(job.c.namespace == name, job.c.deleted_at.is_(None)).values(deleted_at=hidden_at)
        )
    elif row.deleted_at is not None:
        conn.execute(
            update(job).where(job.c.namespace == name, job.c.deleted_at == row.deleted_at).values(deleted_at=None)
        )
