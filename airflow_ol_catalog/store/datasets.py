"""Which dataset row a name stands for: its own, or the one its symlinks made it an alias of.

Both paths need it: the write path to hide a dataset and store its checks, the read path to
answer for any of its names (ingest/symlinks.py keeps `alias_of` up to date).
"""

from __future__ import annotations

from sqlalchemy import func, select

from airflow_ol_catalog.events.naming import namespace_key
from airflow_ol_catalog.store.sql import AnySelect
from airflow_ol_catalog.store.tables import dataset


def named_and_holder(ns: str, name: str) -> AnySelect:
    """(the id of dataset NS:NAME, the id of the visible dataset holding its lineage), or no row."""
    named = dataset.alias("named")
    return select(named.c.id, dataset.c.id).where(
        named.c.namespace_key == namespace_key(ns),
        named.c.name == name,
        dataset.c.id == func.coalesce(named.c.alias_of, named.c.id),
        dataset.c.deleted_at.is_(None),
    )


def holder_of(ns: str, name: str) -> AnySelect:
    """The id of the dataset holding the lineage of dataset NS:NAME (any spelling of NS), for `.in_()`.

    Every spelling of a namespace has the same key, so the key alone finds it, through the
    (namespace_key, name) index.
    """
    named = dataset.alias("named")
    return select(func.coalesce(named.c.alias_of, named.c.id)).where(
        named.c.namespace_key == namespace_key(ns), named.c.name == name
    )
