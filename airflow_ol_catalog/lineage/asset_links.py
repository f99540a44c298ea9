"""Which catalog datasets Airflow's Assets name (the read side of Assets ⇄ datasets): a name in any
spelling of its namespace finds its dataset, an alias finds the dataset holding its lineage; and
the datasets of namespaces Airflow could describe as Assets that no Asset names."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, or_, select, tuple_

from airflow_ol_catalog.events.naming import namespace_key
from airflow_ol_catalog.store.sql import among, not_among
from airflow_ol_catalog.store.tables import asset_trigger_run, dataset

CHUNK = 400  # (namespace key, name) pairs per look-up


class LinkedDataset(NamedTuple):
    id: int
    namespace: str
    name: str


def datasets_named(conn: Connection, names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LinkedDataset]:
    """The visible dataset each (namespace, name) names, by the pair as given; unknown ones left out.
    Spellings of one namespace (a host's case, say) name the same dataset, each."""
    wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for ns, name in names:
        wanted.setdefault((namespace_key(ns), name), []).append((ns, name))
    holders: dict[tuple[str, str], int] = {}
    keys = sorted(wanted)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for key, name, holder in conn.execute(
            select(dataset.c.namespace_key, dataset.c.name, func.coalesce(dataset.c.alias_of, dataset.c.id)).where(
                tuple_(dataset.c.namespace_key, dataset.c.name).in_(chunk)
            )
        ):
            holders[(key, name)] = holder
    rows = {
        r.id: LinkedDataset(r.id, r.namespace, r.name)
        for r in conn.execute(
            select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(
                among(conn.dialect.name, dataset.c.id, set(holders.values())), dataset.c.deleted_at.is_(None)
            )
        )
    }
    return {given: rows[holder] for key, holder in holders.items() if holder in rows for given in wanted[key]}


def datasets_without_asset(
    conn: Connection, schemes: Collection[str], linked: Collection[int], limit: int, offset: int
) -> tuple[list[LinkedDataset], int]:
    """Visible datasets whose namespace has one of these schemes (`postgres`, `file`, ...) and that
    are not among `linked`, by namespace and name; and how many there are."""
    if not schemes:
        return [], 0
    of_scheme = or_(
        *(
            condition
            for scheme in sorted(schemes)
            for condition in (dataset.c.namespace_key == scheme, dataset.c.namespace_key.startswith(scheme + "://"))
        )
    )
    where = [of_scheme, dataset.c.alias_of.is_(None), dataset.c.deleted_at.is_(None)]
    if linked:
        where.append(not_among(conn.dialect.name, dataset.c.id, linked))
    total = conn.execute(select(func.count()).select_from(dataset).where(*where)).scalar_one()
    rows = conn.execute(
        select(dataset.c.id, dataset.c.namespace, dataset.c.name)
        .where(*where)
        .order_by(dataset.c.namespace, dataset.c.name)
        .limit(limit)
        .offset(offset)
    )
    return [LinkedDataset(*r) for r in rows], total


def writes_of(conn: Connection, dataset_id: int, limit: int) -> list[Any]:
    """The newest writes to a dataset queued to trigger Airflow (asset_trigger_run rows), newest first."""
    t = asset_trigger_run
    return list(
        conn.execute(
            select(t).where(t.c.dataset_id == dataset_id).order_by(t.c.event_time.desc(), t.c.id.desc()).limit(limit)
        )
    )
