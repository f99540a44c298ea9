"""Impact analysis: everything downstream of a dataset or a column, with the path to each."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Table, func, select

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.node_ids import (
    DATASET,
    DATASET_FIELD,
    JOB,
    escaped_node_id,
    field_node_id,
    format_node_id,
)
from airflow_ol_catalog.events.run_states import RunState
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.catalog import facets_of, newest_run_rows, run_end, visible_column_lineage
from airflow_ol_catalog.lineage.graph import resolve_node
from airflow_ol_catalog.store.sql import AnyRow, among, in_list, list_value
from airflow_ol_catalog.store.tables import column_lineage, dataset, edge, flow, job

IMPACT_KINDS = (DATASET, DATASET_FIELD)  # what impact starts from
OWNERSHIP = ("ownership",)
# Most node ids the paths of one answer hold together; beyond it they are left out (`pathsOmitted`)
# and each impacted node names the one before it. A chain of 800 datasets and jobs holds about
# 960,000.
MAX_PATH_IDS = 1_000_000
_Node = TypeVar("_Node", bound=Hashable)


def impact(
    conn: Connection,
    node_id: str,
    include_attempted: bool = False,
    max_nodes: int = 5000,
    namespace: str | None = None,
) -> dict[str, Any]:
    node, start = resolve_node(conn, node_id, IMPACT_KINDS, namespace)
    if node.kind == DATASET_FIELD:
        assert node.field is not None  # a field node id always names its field (NodeId checks it)
        return _field_impact(conn, (start, node.field), max_nodes)
    return _dataset_impact(conn, start, include_attempted, max_nodes)


def _dataset_impact(conn: Connection, start: int, include_attempted: bool, max_nodes: int) -> dict[str, Any]:
    """Breadth first, index-driven queries per hop, names included: few look-ups afterwards.

    A job whose `lineage` facets state which of its inputs feed which of its outputs leads from an
    input only to those outputs; any other job to all its outputs (the product of inputs and outputs,
    as OpenLineage reads a job without such a statement). Flows stated between datasets with no
    job (views, copies a DatasetEvent describes) are followed too. Each dataset is reached first
    through the lowest (job id, input id): the same answer every time.
    """
    came_from: dict[int, tuple[int, int | None] | None] = {start: None}  # dataset -> (previous dataset, job)
    spelled = _Spelling()
    names = _names(conn, dataset, {start}, DATASET, spelled)
    jobs: dict[int, Named] = {}  # every consumer met so far: its outputs are placed already
    frontier = {start}
    truncated = False
    dialect = conn.dialect.name
    read, wrote = edge.alias("read"), edge.alias("wrote")

    def used(edges: Any) -> list[Any]:  # edges of runs that completed, or stated by JobEvents
        return [] if include_attempted else [edges.c.confirmed | edges.c.declared]

    # Built once, the ids sent as one list parameter a hop: building a statement a hop cost more
    # than running it. First the frontier's consumers (the lowest input that reached each), then
    # what they wrote; each an index look-up on both backends.
    consumers_of = (
        select(read.c.job_id, func.min(read.c.dataset_id), job.c.namespace, job.c.name)
        .join(job, job.c.id == read.c.job_id)
        .where(read.c.direction == "in", in_list(dialect, read.c.dataset_id, "frontier"), job.c.deleted_at.is_(None))
        .where(*used(read))
        .group_by(read.c.job_id, job.c.namespace, job.c.name)
    )
    written_by = (
        select(wrote.c.job_id, wrote.c.dataset_id, dataset.c.namespace, dataset.c.name)
        .join(dataset, dataset.c.id == wrote.c.dataset_id)
        .where(wrote.c.direction == "out", in_list(dialect, wrote.c.job_id, "jobs"), dataset.c.deleted_at.is_(None))
        .where(*used(wrote))
    )
    # most catalogs hold no stated flow: one look instead of two queries a hop
    any_flows = conn.execute(select(flow.c.source_id).where(_BETWEEN_DATASETS).limit(1)).first() is not None
    while frontier and not truncated:
        found = conn.execute(consumers_of, {"frontier": list_value(dialect, frontier)}).all()
        consumers = {
            job_id: (source, namespace, name)
            for job_id, source, namespace, name in sorted(found)
            if job_id not in jobs  # met before: its outputs are placed already
        }
        for job_id in _stating(conn, consumers) if any_flows else ():
            del consumers[job_id]  # met again from any input its statements start at
        stated = _stated_from(conn, frontier) if any_flows else set()
        if not consumers and not stated:
            break
        jobs.update((i, spelled.named(JOB, i, namespace, name)) for i, (_, namespace, name) in consumers.items())
        unnamed = {job_id for job_id, _, _ in stated if job_id is not None and job_id not in jobs}
        jobs.update(_names(conn, job, unnamed, JOB, spelled, live=True) if unnamed else {})
        rows = sorted(conn.execute(written_by, {"jobs": list_value(dialect, consumers)}).all())
        for _, target, namespace, name in rows:
            if target not in names:
                names[target] = spelled.named(DATASET, target, namespace, name)
        unnamed = {target for _, _, target in stated if target not in names}
        names.update(_names(conn, dataset, unnamed, DATASET, spelled, live=True) if unnamed else {})
        reached = [(job_id, target, consumers[job_id][0]) for job_id, target, _, _ in rows]
        reached += [
            (job_id or 0, target, source)
            for job_id, source, target in stated
            if target in names and (job_id is None or job_id in jobs)  # hidden ones left out
        ]
        next_frontier = set()
        for job_id, target, source in sorted(reached):
            if target in came_from:
                continue
            if len(came_from) >= max_nodes:
                truncated = True
                break
            came_from[target] = (source, job_id or None)
            next_frontier.add(target)
        frontier = next_frontier
    report = _report("DATASET", start, came_from, lambda node: names[node].node_id, jobs, truncated)
    return _described(conn, report, {names[i].node_id: (i, names[i], None) for i in came_from}, jobs)


class Named(NamedTuple):
    node_id: str
    namespace: str
    name: str


class _Spelling:
    """The node ids of one answer, spelled as a lineage graph spells them: plainly, or escaped when
    another node of the answer has the plain spelling (`dataset:x:y:z` is both dataset `z` of
    namespace `x:y` and dataset `y:z` of namespace `x`). Nodes are named in the walk's order, the
    same every time, and the first keeps the plain one."""

    def __init__(self) -> None:
        self._holders: dict[str, tuple[str, int]] = {}

    def named(self, kind: str, row_id: int, namespace: str, name: str) -> Named:
        key = format_node_id(kind, namespace, name)
        if self._holders.setdefault(key, (kind, row_id)) != (kind, row_id):
            key = escaped_node_id(kind, namespace, name)
        return Named(key, namespace, name)


def _names(
    conn: Connection, table: Table, ids: Collection[int], kind: str, spelled: _Spelling, live: bool = False
) -> dict[int, Named]:
    """Node ids by id; with `live`, of those not hidden only."""
    query = select(table.c.id, table.c.namespace, table.c.name).where(among(conn.dialect.name, table.c.id, ids))
    rows = sorted(conn.execute(query.where(table.c.deleted_at.is_(None)) if live else query))
    return {i: spelled.named(kind, i, namespace, name) for i, namespace, name in rows}


_BETWEEN_DATASETS = (flow.c.source_kind == "dataset") & (flow.c.target_kind == "dataset")


def _stating(conn: Connection, consumers: Collection[int]) -> set[int]:
    """Which of these jobs state, in `lineage` facets, which of their inputs feed which outputs."""
    if not consumers:
        return set()
    query = select(flow.c.job_id).where(_BETWEEN_DATASETS, among(conn.dialect.name, flow.c.job_id, consumers))
    return set(conn.execute(query.distinct()).scalars())


def _stated_from(conn: Connection, frontier: set[int]) -> set[tuple[int | None, int, int]]:
    """(job or None, input, output) of the flows `lineage` facets state from the frontier's datasets."""
    query = select(flow.c.job_id, flow.c.source_id, flow.c.target_id).where(
        _BETWEEN_DATASETS, among(conn.dialect.name, flow.c.source_id, frontier)
    )
    return {(job_id, source, target) for job_id, source, target in conn.execute(query.distinct())}


def _report(
    kind: str,
    start: _Node,
    came_from: Mapping[_Node, tuple[_Node, int | None] | None],
    node_id: Callable[[_Node], str],
    jobs: Mapping[int, Named],
    truncated: bool,
) -> dict[str, Any]:
    """Each node the walk reached, nearest first: its depth, the node before it (`previous`), the
    job between them (`via`), and its path from the start and the jobs on it (a dataset's path holds
    the jobs too, a field's does not). `came_from` holds nodes in the order the walk found them: a
    node's predecessor comes first. Paths are left out when together they would hold over
    MAX_PATH_IDS ids: a chain's paths grow with the square of its length, `previous` and `via` with
    the length."""
    jobs_on_path = kind == "DATASET"
    depth, size = {start: 0}, {start: 1}
    entries: list[tuple[_Node, _Node, str | None]] = []
    for node, step in came_from.items():
        if step is None:
            continue
        previous, job_id = step
        job = jobs[job_id].node_id if job_id is not None and job_id in jobs else None
        depth[node] = depth[previous] + 1
        # the ids of its path and its jobs: the node, and the job in `jobs` (and in a dataset's path)
        size[node] = size[previous] + 1 + (0 if job is None else 2 if jobs_on_path else 1)
        entries.append((node, previous, job))
    whole = sum(size[node] for node, _, _ in entries) <= MAX_PATH_IDS
    paths: dict[_Node, tuple[list[str], list[str]]] = {start: ([node_id(start)], [])}
    impacted = []
    for node, previous, job in entries:
        item: dict[str, Any] = {
            "id": node_id(node),
            "type": kind,
            "depth": depth[node],
            "previous": node_id(previous),
            "via": job,
        }
        if whole:
            path, on_path = paths[previous]
            hop = [job, item["id"]] if job is not None and jobs_on_path else [item["id"]]
            paths[node] = ([*path, *hop], [*on_path, job] if job is not None else on_path)
        item["path"], item["jobs"] = paths.get(node, ([], []))
        impacted.append(item)
    impacted.sort(key=lambda item: (item["depth"], item["id"]))
    return {
        "nodeId": node_id(start),
        "impacted": impacted,
        "totalCount": len(impacted),
        "truncated": truncated,
        "pathsOmitted": not whole,
    }


def _field_impact(conn: Connection, start: tuple[int, str], max_nodes: int) -> dict[str, Any]:
    came_from: dict[tuple[int, str], tuple[tuple[int, str], int | None] | None] = {start: None}
    frontier = {start}
    truncated = False
    dialect = conn.dialect.name
    reading = visible_column_lineage().where(in_list(dialect, column_lineage.c.input_dataset_id, "datasets"))
    while frontier and not truncated:
        rows = conn.execute(reading, {"datasets": list_value(dialect, {ds for ds, _ in frontier})}).all()
        next_frontier = set()
        for r in sorted(rows, key=lambda r: (r.output_dataset_id, r.output_field)):
            source = (r.input_dataset_id, r.input_field)
            target = (r.output_dataset_id, r.output_field)
            if source not in frontier or target in came_from:
                continue
            if len(came_from) >= max_nodes:
                truncated = True
                break
            came_from[target] = (source, r.job_id)
            next_frontier.add(target)
        frontier = next_frontier
    ids = {ds for ds, _ in came_from}
    spelled = _Spelling()
    names = _names(conn, dataset, ids, DATASET, spelled)  # a field's id is escaped on its own (field_node_id)
    job_ids = {step[1] for step in came_from.values() if step and step[1]}
    jobs = _names(conn, job, job_ids, JOB, spelled) if job_ids else {}

    def key(f: tuple[int, str]) -> str:
        return field_node_id(names[f[0]].namespace, names[f[0]].name, f[1])

    report = _report("DATASET_FIELD", start, came_from, key, jobs, truncated)
    return _described(conn, report, {key(f): (f[0], names[f[0]], f[1]) for f in came_from}, jobs)


def _described(
    conn: Connection, report: dict[str, Any], nodes: dict[str, tuple[int, Named, str | None]], jobs: dict[int, Named]
) -> dict[str, Any]:
    """The report with each impacted dataset or field named (`nodes`: node id -> its dataset's id
    and name, and the field), its dataset's owners, and the name, owners and newest run of each job
    on a path: who to tell, and whether the path runs at all."""
    on_paths = {item["via"] for item in report["impacted"]}  # every job on a path leads to some node
    job_ids = {i: named for i, named in jobs.items() if named.node_id in on_paths}
    dataset_facets = facets_of(conn, "dataset", {dataset_id for dataset_id, _, _ in nodes.values()}, OWNERSHIP)
    for item in report["impacted"]:
        dataset_id, named, field = nodes[item["id"]]
        item["namespace"], item["name"], item["field"] = named.namespace, named.name, field
        item["owners"] = reading.owners(dataset_facets[dataset_id])
    job_facets = facets_of(conn, "job", job_ids, OWNERSHIP)
    newest = {r.job_id: r for r in newest_run_rows(conn, job_ids, 1)} if job_ids else {}
    report["jobs"] = {
        named.node_id: {
            "namespace": named.namespace,
            "name": named.name,
            "owners": reading.owners(job_facets[i]),
            "latestRun": _last_run(newest.get(i)),
        }
        for i, named in job_ids.items()
    }
    return report


def _last_run(r: AnyRow | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "runId": r.run_id,
        "state": RunState.of(r.state).value,
        "startedAt": iso(r.started_at),
        "endedAt": iso(run_end(r)[0]),
    }
