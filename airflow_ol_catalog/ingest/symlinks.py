"""Symlinked datasets: several names, one identity.

A `symlinks` facet says that a dataset (say a path in a warehouse directory) is also known by
other names (say the metastore table over it). Every name keeps its dataset row, so any of
them can be looked up, but the names linked directly or through other links hold their
lineage in one of them, the canonical name; the others point to it with `alias_of`.

The canonical name is a function of the set of links alone, so it does not depend on the order
events arrive in: a name that some facet calls a TABLE, else a name that some facet links to,
else the first by (namespace key, name). When a new link joins names that already had lineage
of their own, their edges, runs' inputs and outputs, facets, versions and column lineage move
to the canonical name and merge there as if every event had named it from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, bindparam, delete, func, or_, select, update

from airflow_ol_catalog.events.model import DatasetRef
from airflow_ol_catalog.events.quality import QUALITY_CHECK
from airflow_ol_catalog.store.sql import AnyRow, among, insert_for, lock_now
from airflow_ol_catalog.store.tables import (
    column_lineage,
    dataset,
    dataset_symlink,
    dataset_version,
    edge,
    facet,
    flow,
    run,
    run_dataset,
)
from airflow_ol_catalog.store.view_stamps import bump_generation, lock_datasets

# The facet entities keyed by a dataset id: its own facets, and its test results per test job.
DATASET_FACETS = ("dataset", QUALITY_CHECK)


def symlinks_of(ref: DatasetRef) -> list[tuple[str, str, str]]:
    """(namespace, name, type) of each other name a dataset reference gives (validated by events/validate)."""
    found = ref.facets.get("symlinks")
    identifiers = found.get("identifiers") if isinstance(found, dict) else None
    if not isinstance(identifiers, list):
        return []
    return [
        (item["namespace"], item["name"], str(item.get("type") or "").upper()[:64])
        for item in identifiers
        if isinstance(item, dict) and (item["namespace"], item["name"]) != (ref.namespace, ref.name)
    ]


def record_links(conn: Connection, st: dict[str, Any], links: dict[tuple[int, int], str]) -> dict[int, int] | None:
    """Store (dataset, target) links; settle the identities of the names the new ones join.

    `st` holds the projection's upserts, which merge moved rows with the same rules as events.
    Set-based: a handful of statements however many links an event brings, plus a move per
    name that had lineage of its own before it became an alias.

    Returns the canonical dataset of every name whose identity changed; None if no link was new
    (then the catalog's view generation stays as it was).
    """
    if not links:
        return None
    rows = [{"dataset_id": a, "target_id": b, "type": kind} for (a, b), kind in sorted(links.items())]
    new = conn.execute(
        insert_for(conn.dialect.name, dataset_symlink)
        .on_conflict_do_nothing(index_elements=["dataset_id", "target_id"])
        .returning(dataset_symlink.c.dataset_id, dataset_symlink.c.target_id),
        rows,
    ).all()
    if not new:
        return None
    bump_generation(conn)  # names become aliases: every view naming them reads differently
    return _settle(conn, st, _components(conn, {i for row in new for i in row}))


def _components(conn: Connection, seeds: set[int]) -> list[set[int]]:
    """The sets of names linked to these, directly or through others: one query per hop for all."""
    dialect = conn.dialect.name
    parent = {i: i for i in seeds}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    frontier = set(seeds)
    while frontier:
        found = conn.execute(
            select(dataset_symlink.c.dataset_id, dataset_symlink.c.target_id).where(
                or_(
                    among(dialect, dataset_symlink.c.dataset_id, frontier),
                    among(dialect, dataset_symlink.c.target_id, frontier),
                )
            )
        ).all()
        frontier = {i for row in found for i in row} - parent.keys()
        for i in frontier:
            parent[i] = i
        for a, b in found:
            parent[root(a)] = root(b)
    components: dict[int, set[int]] = {}
    for i in parent:
        components.setdefault(root(i), set()).add(i)
    return list(components.values())


def _settle(conn: Connection, st: dict[str, Any], components: list[set[int]]) -> dict[int, int]:
    """Point every name of each component at its canonical name, moving the lineage aliases had."""
    dialect = conn.dialect.name
    members = set().union(*components)
    targets = conn.execute(
        select(dataset_symlink.c.target_id, dataset_symlink.c.type).where(
            among(dialect, dataset_symlink.c.target_id, members)
        )
    ).all()
    tables = {t.target_id for t in targets if t.type == "TABLE"}
    linked_to = {t.target_id for t in targets}
    # Locked first (in id order): a writer that read one of these names without a lock either
    # commits before this reads its lineage, or fails its alias check and runs again (projection).
    # Before them (PostgreSQL), the rows the transaction's last round trip will lock, in that round
    # trip's order: the jobs its events name, then its datasets and these (store/sql.py
    # `lock_first`). Locked here first, these would come before a job another writer holds while it
    # waits for one of them. Not the jobs using its datasets: a dataset read by thousands of jobs
    # would hold them all until the commit; a new version in this transaction bumps none of them
    # (the view generation is bumped: projection `_project_versions`).
    lock_datasets(conn, members, needed=True)
    lock_now(conn)
    locked = select(dataset).where(among(dialect, dataset.c.id, members)).order_by(dataset.c.id).with_for_update()
    rows = {r.id: r for r in conn.execute(locked)}
    canonical_of: dict[int, int] = {}
    for component in components:
        canonical = min(
            component, key=lambda i: (i not in tables, i not in linked_to, rows[i].namespace_key, rows[i].name)
        )
        canonical_of.update((member, canonical) for member in component)
    changed = {
        m: c for m, c in canonical_of.items() if (rows[m].alias_of != c if m != c else rows[m].alias_of is not None)
    }
    moving = {m for m in changed if m != canonical_of[m]}
    for member in sorted(moving & _with_lineage(conn, moving)):
        _move_lineage(conn, st, member, canonical_of[member])
    if changed:
        conn.execute(
            update(dataset).where(dataset.c.id == bindparam("p_id")).values(alias_of=bindparam("p_alias")),
            [{"p_id": m, "p_alias": None if m == c else c} for m, c in sorted(changed.items())],
        )
    seen = []  # a name's sightings count for the dataset it stands for
    for component in components:
        first, last = min(rows[m].first_seen_at for m in component), max(rows[m].last_seen_at for m in component)
        seen.append({"p_id": canonical_of[next(iter(component))], "p_first": first, "p_last": last})
    conn.execute(st["alias_seen"], seen)
    return changed


def _with_lineage(conn: Connection, ids: set[int]) -> set[int]:
    """Which of these datasets have anything to move: most names are new when they are linked."""
    if not ids:
        return set()
    dialect = conn.dialect.name
    holders = (
        select(run_dataset.c.dataset_id).where(among(dialect, run_dataset.c.dataset_id, ids)),
        select(edge.c.dataset_id).where(among(dialect, edge.c.dataset_id, ids)),
        select(facet.c.entity_id).where(facet.c.entity.in_(DATASET_FACETS), among(dialect, facet.c.entity_id, ids)),
        select(dataset_version.c.dataset_id).where(among(dialect, dataset_version.c.dataset_id, ids)),
        select(column_lineage.c.output_dataset_id).where(among(dialect, column_lineage.c.output_dataset_id, ids)),
        select(column_lineage.c.input_dataset_id).where(among(dialect, column_lineage.c.input_dataset_id, ids)),
        select(flow.c.source_id).where(flow.c.source_kind == "dataset", among(dialect, flow.c.source_id, ids)),
        select(flow.c.target_id).where(flow.c.target_kind == "dataset", among(dialect, flow.c.target_id, ids)),
    )
    return {i for query in holders for i in conn.execute(query.distinct()).scalars()}


def _move_lineage(conn: Connection, st: dict[str, Any], source: int, target: int) -> None:
    """Merge everything the catalog holds for dataset `source` into dataset `target`."""

    def moved(table: Table, where: ColumnElement[bool], **replace: Callable[[AnyRow], Any]) -> list[dict[str, Any]]:
        return [
            {**row._asdict(), **{k: f(row) for k, f in replace.items()}}
            for row in conn.execute(select(table).where(where))
        ]

    # The links keep their write ends, copied without locking their runs: a writer that ends one
    # of those runs locks the datasets it wrote (it bumps them) before it writes the ends, so it
    # either ended these links before `_settle` locked the datasets, or waits and ends the moved ones.
    links = moved(run_dataset, run_dataset.c.dataset_id == source, dataset_id=lambda r: target)
    if links:
        conn.execute(st["run_dataset"], links)
    conn.execute(delete(run_dataset).where(run_dataset.c.dataset_id == source))

    edges = moved(edge, edge.c.dataset_id == source, dataset_id=lambda r: target, run_count=lambda r: 0)
    if edges:
        conn.execute(st["edge"], edges)
    conn.execute(delete(edge).where(edge.c.dataset_id == source))
    # run_count is the number of runs linked to the edge; recount where links merged.
    runs_linked = (
        select(func.count())
        .select_from(run_dataset.join(run, run.c.id == run_dataset.c.run_pk))
        .where(
            run_dataset.c.dataset_id == edge.c.dataset_id,
            run_dataset.c.direction == edge.c.direction,
            run.c.job_id == edge.c.job_id,
        )
        .scalar_subquery()
    )
    conn.execute(update(edge).where(edge.c.dataset_id == target).values(run_count=runs_linked))

    of_source = facet.c.entity.in_(DATASET_FACETS) & (facet.c.entity_id == source)
    facets = moved(facet, of_source, entity_id=lambda r: target)
    if facets:
        conn.execute(st["facet"], facets)
    conn.execute(delete(facet).where(of_source))

    versions = [
        {k: v for k, v in row.items() if k != "id"}
        for row in moved(dataset_version, dataset_version.c.dataset_id == source, dataset_id=lambda r: target)
    ]
    if versions:
        conn.execute(st["version"], versions)
    conn.execute(delete(dataset_version).where(dataset_version.c.dataset_id == source))

    def swap(value: int) -> int:
        return target if value == source else value

    columns: dict[tuple[Any, ...], dict[str, Any]] = {}  # a link between the two names becomes one row, merged here
    for row in moved(
        column_lineage,
        or_(column_lineage.c.output_dataset_id == source, column_lineage.c.input_dataset_id == source),
        output_dataset_id=lambda r: swap(r.output_dataset_id),
        input_dataset_id=lambda r: swap(r.input_dataset_id),
    ):
        key = tuple(row[c.name] for c in column_lineage.primary_key.columns)
        old = columns.get(key)
        if old is not None:
            row["first_seen_at"] = min(row["first_seen_at"], old["first_seen_at"])
            if old["last_seen_at"] > row["last_seen_at"]:
                row = {**old, "first_seen_at": row["first_seen_at"]}
        columns[key] = row
    conn.execute(
        delete(column_lineage).where(
            or_(column_lineage.c.output_dataset_id == source, column_lineage.c.input_dataset_id == source)
        )
    )
    if columns:
        conn.execute(st["column_lineage"], list(columns.values()))

    flows_of_source = or_(
        (flow.c.source_kind == "dataset") & (flow.c.source_id == source),
        (flow.c.target_kind == "dataset") & (flow.c.target_id == source),
    )
    flows: dict[tuple[Any, ...], dict[str, Any]] = {}  # merged as the upsert merges them
    for row in moved(
        flow,
        flows_of_source,
        source_id=lambda r: swap(r.source_id) if r.source_kind == "dataset" else r.source_id,
        target_id=lambda r: swap(r.target_id) if r.target_kind == "dataset" else r.target_id,
    ):
        key = tuple(row[c.name] for c in flow.primary_key.columns)
        old = flows.get(key)
        if old is not None:
            newer, older = (
                (row, old)
                if (row["last_seen_at"], row["digest"]) > (old["last_seen_at"], old["digest"])
                else (old, row)
            )
            row = {
                **newer,
                "first_seen_at": min(row["first_seen_at"], old["first_seen_at"]),
                "declared": newer["declared"] or older["declared"],
                "observed": newer["observed"] or older["observed"],
            }
        flows[key] = row
    conn.execute(delete(flow).where(flows_of_source))
    if flows:
        conn.execute(st["flow"], list(flows.values()))
