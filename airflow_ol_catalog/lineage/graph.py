"""Lineage graphs in Marquez's shape: breadth-first from a node over job↔dataset edges (and the
job→job and dataset→dataset flows `lineage` facets state), a query or two per hop and kind; then
each node's `data`, the job or dataset as its own route answers it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from pydantic_core import to_json
from sqlalchemy import ColumnElement, Connection, Engine, Select, Table, and_, bindparam, func, or_, select
from typing_extensions import NotRequired

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.collector import collector_paused
from airflow_ol_catalog.events.node_ids import (
    DATASET,
    DATASET_FIELD,
    JOB,
    NodeId,
    escaped_node_id,
    format_node_id,
    readings,
)
from airflow_ol_catalog.events.not_found import NodeNotFound
from airflow_ol_catalog.lineage.catalog import datasets_view, facets_of, jobs_view
from airflow_ol_catalog.lineage.view_cache import NodeView, node_views
from airflow_ol_catalog.store.datasets import named_and_holder
from airflow_ol_catalog.store.engine import read_connection
from airflow_ol_catalog.store.sql import AnyRow, among, execute, in_list, list_value
from airflow_ol_catalog.store.tables import column_lineage, dataset, edge, flow, job
from airflow_ol_catalog.store.view_stamps import generation

# Jobs or datasets described by one call of their view: bounds the size of each IN list.
VIEW_BATCH = 500


class Edge(TypedDict):
    origin: str  # node ids
    destination: str
    relation: NotRequired[str]  # "control" between jobs a `jobDependencies` facet links
    via: NotRequired[str]  # the temporary dataset a job -> job edge stands for


class Node(TypedDict):
    id: str
    type: str  # JOB or DATASET
    data: NodeView | None  # the job or dataset as its own route answers it (set once the walk is done)
    inEdges: list[Edge]
    outEdges: list[Edge]


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)  # node id -> node
    truncated: bool = False

    def sorted_nodes(self) -> list[Node]:
        """Nodes sorted by id, and each node's edges by origin then destination, as Marquez sorts them."""
        for node in self.nodes.values():
            for edges in (node["inEdges"], node["outEdges"]):
                edges.sort(key=lambda e: (e["origin"], e["destination"]))
        return [self.nodes[key] for key in sorted(self.nodes)]

    def as_list(self) -> list[dict[str, Any]]:
        """`sorted_nodes` with each node's data read back into a dict."""
        return [{**n, "data": n["data"].value() if n["data"] else None} for n in self.sorted_nodes()]

    def as_json(
        self, data: Callable[[Node], bytes] = lambda node: node["data"].body if node["data"] else b"null"
    ) -> bytes:
        """The answer `{"graph": [...], "truncated": ...}` in JSON, each node's data written as `data`
        gives it (by default its view as kept, without parsing it again)."""
        nodes = b",".join(
            b'{"id":%b,"type":%b,"data":%b,"inEdges":%b,"outEdges":%b}'
            % (to_json(n["id"]), to_json(n["type"]), data(n), to_json(n["inEdges"]), to_json(n["outEdges"]))
            for n in self.sorted_nodes()
        )
        return b'{"graph":[%b],"truncated":%b}' % (nodes, b"true" if self.truncated else b"false")


GRAPH_KINDS = (JOB, DATASET)  # what a lineage graph starts from


def resolve_node(
    conn: Connection, node_id: str, kinds: tuple[str, ...] = GRAPH_KINDS, namespace: str | None = None
) -> tuple[NodeId, int]:
    """The reading of `node_id` (with `namespace`, of those with it) that names a visible job or dataset
    (a field: its dataset), with its id; of several, the one recorded first.

    A text can name several nodes (`dataset:pg://h:5432:db.t` is both `pg://h` + `5432:db.t` and
    `pg://h:5432` + `db.t`): taking the first recorded keeps a name a producer sends later from
    taking over the page and the lineage of one already known.
    NodeIdInvalid when the text is no node id of these kinds; NodeNotFound when no reading names anything.
    """
    read = readings(node_id, kinds, namespace)
    # A column's plain id is written only for a column with no colon in its dataset's name or field
    # (`field_node_id`): such readings answer first, the others only when none of them names anything.
    written = [n for n in read if n.field is not None and ":" not in n.name and ":" not in n.field]
    if written and not node_id.startswith(f"{DATASET_FIELD}%:"):
        try:
            return _first_recorded(conn, node_id, written)
        except NodeNotFound:
            pass
    return _first_recorded(conn, node_id, read)


def _first_recorded(conn: Connection, node_id: str, read: list[NodeId]) -> tuple[NodeId, int]:
    """Of these readings of `node_id`, the one naming the job or dataset recorded first (a field: one
    the dataset has), with the node's id; NodeNotFound when none names anything."""
    best: tuple[int, NodeId, int] | None = None  # (the named row's id, the reading, the node's id)
    for node in read:
        if node.kind == JOB:
            row = conn.execute(
                select(job.c.id, job.c.id).where(
                    job.c.namespace == node.namespace, job.c.name == node.name, job.c.deleted_at.is_(None)
                )
            ).first()
        else:
            row = conn.execute(named_and_holder(node.namespace, node.name)).first()
        if row is None or (best is not None and row[0] >= best[0]):
            continue
        if node.field is None or _field_known(conn, row[1], node.field):
            best = (row[0], node, row[1])
    if best is not None:
        return best[1], best[2]
    if all(node.name.startswith("//") for node in read):  # `dataset:s3://bucket`: a namespace alone
        raise NodeNotFound(
            node_id,
            f"read as namespace {read[0].namespace!r} and name {read[0].name!r}; node ids are KIND:NAMESPACE:NAME",
        )
    raise NodeNotFound(node_id)


def _field_known(conn: Connection, dataset_id: int, name: str) -> bool:
    """Whether the dataset has this field: in its schema, or named by column lineage from or to it."""
    named = select(column_lineage.c.output_dataset_id).where(
        or_(
            and_(column_lineage.c.output_dataset_id == dataset_id, column_lineage.c.output_field == name),
            and_(column_lineage.c.input_dataset_id == dataset_id, column_lineage.c.input_field == name),
        )
    )
    if conn.execute(named.limit(1)).first() is not None:
        return True
    schema = facets_of(conn, "dataset", [dataset_id])[dataset_id].get("schema", {})
    fields = schema.get("fields") if isinstance(schema, dict) else None
    return isinstance(fields, list) and any(isinstance(f, dict) and f.get("name") == name for f in fields)


def _node(kind: str, row: AnyRow, taken: Collection[str]) -> tuple[str, Node]:
    """A node without its data yet (filled in once the walk is done, for all nodes at once); its id
    is the escaped spelling when another node of the graph (`taken`) has the plain one."""
    spelling = (JOB if kind == "JOB" else DATASET, row.namespace, row.name)
    key = format_node_id(*spelling)
    if key in taken:
        key = escaped_node_id(*spelling)
    return key, {"id": key, "type": kind, "data": None, "inEdges": [], "outEdges": []}


# Which edges a step follows from jobs and from datasets, per direction of travel.
_STEPS = {
    "both": (None, None),
    "upstream": ("in", "out"),  # a job's inputs; a dataset's producers
    "downstream": ("out", "in"),  # a job's outputs; a dataset's consumers
}


# The walk's statements, built once each (a walk runs a few per hop; building and compiling them
# anew cost about as much as PostgreSQL's work), with the frontier's ids as two list parameters,
# `jobs` and `datasets`, and `as_of` when given.


@functools.cache
def _edge_step(dialect: str, direction: str, include_attempted: bool, as_of: bool) -> Select[Any]:
    """The edges one hop from the frontier, as (job id, dataset id, direction)."""
    from_jobs, from_datasets = _STEPS[direction]
    job_side = in_list(dialect, edge.c.job_id, "jobs")
    dataset_side = in_list(dialect, edge.c.dataset_id, "datasets")
    if from_jobs:
        job_side &= edge.c.direction == from_jobs
        dataset_side &= edge.c.direction == from_datasets
    conditions: list[ColumnElement[bool]] = [job_side | dataset_side]
    if not include_attempted:
        conditions.append(edge.c.confirmed | edge.c.declared)
    if as_of:
        conditions.append(edge.c.first_seen_at <= bindparam("as_of", type_=edge.c.first_seen_at.type))
    return select(edge.c.job_id, edge.c.dataset_id, edge.c.direction).where(*conditions)


@functools.cache
def _flow_step(dialect: str, direction: str, as_of: bool) -> Select[Any]:
    """The flows one hop from the frontier (`_Walk.flows`), as (source kind, source id, target kind,
    target id, relation)."""
    ends = [
        ((kind_column == "job") & in_list(dialect, id_column, "jobs"))
        | ((kind_column == "dataset") & in_list(dialect, id_column, "datasets"))
        for kind_column, id_column, wanted in (
            (flow.c.source_kind, flow.c.source_id, direction in ("both", "downstream")),
            (flow.c.target_kind, flow.c.target_id, direction in ("both", "upstream")),
        )
        if wanted
    ]
    conditions: list[ColumnElement[bool]] = [
        or_(*ends),
        flow.c.source_kind == flow.c.target_kind,
        (flow.c.source_kind == "job") | flow.c.job_id.is_(None),
    ]
    if as_of:
        conditions.append(flow.c.first_seen_at <= bindparam("as_of", type_=flow.c.first_seen_at.type))
    columns = (flow.c.source_kind, flow.c.source_id, flow.c.target_kind, flow.c.target_id, flow.c.relation)
    return select(*columns).where(*conditions).distinct()


@dataclass
class _Walk:
    conn: Connection
    graph: Graph
    include_attempted: bool
    as_of: datetime | None
    max_nodes: int
    generation: int  # the catalog's view generation, read before any row (lineage/view_cache)
    jobs: dict[int, str] = field(default_factory=dict)  # id -> node id
    datasets: dict[int, str] = field(default_factory=dict)
    rows: dict[str, AnyRow] = field(default_factory=dict)  # node id -> its job or dataset row
    edges: set[tuple[int, int, str]] = field(default_factory=set)
    flow_edges: set[tuple[str, str]] = field(default_factory=set)  # (origin, destination) node ids
    hidden_jobs: set[int] = field(default_factory=set)  # deleted nodes met on the way
    hidden_datasets: set[int] = field(default_factory=set)
    any_flows: bool | None = None  # whether the catalog holds any flow, asked once per walk

    def step(
        self, frontier_jobs: set[int], frontier_datasets: set[int], direction: str
    ) -> tuple[set[int], set[int]] | None:
        """Follow one hop; None when the hop would pass max_nodes (the graph stops before it).

        The edge query reads the edge table alone (its indexes); the nodes it reaches for the
        first time are then named, in two look-ups, and deleted ones dropped with their edges.
        """
        dialect = self.conn.dialect.name
        statement = _edge_step(dialect, direction, self.include_attempted, self.as_of is not None)
        frontier = self._ids(frontier_jobs, frontier_datasets)
        rows = execute(self.conn, statement, frontier)
        flows = self.flows(frontier, direction)
        met = [(kind, i) for f in flows for kind, i in (f[:2], f[2:4])]
        job_ids = ({r[0] for r in rows} | {i for kind, i in met if kind == "job"}) - self.jobs.keys() - self.hidden_jobs
        dataset_ids = (
            ({r[1] for r in rows} | {i for kind, i in met if kind == "dataset"})
            - self.datasets.keys()
            - self.hidden_datasets
        )
        room = self.max_nodes - len(self.graph.nodes)
        if len(job_ids) + len(dataset_ids) > room and _live_count(self.conn, job_ids, dataset_ids) > room:
            self.graph.truncated = True  # counted first: naming thousands of nodes only to drop them is slow
            return None
        new_jobs, new_datasets = self.add_nodes(job_ids, dataset_ids)
        self.hidden_jobs |= job_ids - new_jobs
        self.hidden_datasets |= dataset_ids - new_datasets
        nodes, jobs, datasets, edges = self.graph.nodes, self.jobs, self.datasets, self.edges
        for key in map(tuple, rows):
            job_id, dataset_id, direction = key
            if key in edges or job_id not in jobs or dataset_id not in datasets:
                continue
            edges.add(key)
            origin, destination = (
                (datasets[dataset_id], jobs[job_id]) if direction == "in" else (jobs[job_id], datasets[dataset_id])
            )
            pair: Edge = {"origin": origin, "destination": destination}
            nodes[origin]["outEdges"].append(pair)
            nodes[destination]["inEdges"].append(pair)
        known = {"job": jobs, "dataset": datasets}
        for source_kind, source_id, target_kind, target_id, relation in flows:
            origin_id, destination_id = known[source_kind].get(source_id), known[target_kind].get(target_id)
            if origin_id is None or destination_id is None or (origin_id, destination_id) in self.flow_edges:
                continue
            self.flow_edges.add((origin_id, destination_id))
            stated: Edge = {"origin": origin_id, "destination": destination_id}
            if relation == "control":
                stated["relation"] = "control"
            nodes[origin_id]["outEdges"].append(stated)
            nodes[destination_id]["inEdges"].append(stated)
        return new_jobs, new_datasets

    def flows(self, frontier: dict[str, Any], direction: str) -> list[tuple[str, int, str, int, str]]:
        """Flows between two jobs, or between two datasets with no job, that `lineage` facets state
        (the edges between a job and a dataset are in the edge table), and the control flow between
        jobs that `jobDependencies` facets state: one hop from the frontier (`_ids`), data flow first."""
        if self.any_flows is None:  # most catalogs hold none: one look instead of a query per hop
            self.any_flows = self.conn.execute(select(flow.c.source_id).limit(1)).first() is not None
        if not self.any_flows:
            return []
        statement = _flow_step(self.conn.dialect.name, direction, self.as_of is not None)
        found = execute(self.conn, statement, frontier)
        return sorted(found, key=lambda r: r[4] != "data")

    def _ids(self, jobs: set[int], datasets: set[int]) -> dict[str, Any]:
        """The parameters of `_edge_step` and `_flow_step`."""
        dialect = self.conn.dialect.name
        params = {"jobs": list_value(dialect, jobs), "datasets": list_value(dialect, datasets)}
        if self.as_of is not None:
            params["as_of"] = self.as_of
        return params

    def add_nodes(self, job_ids: set[int], dataset_ids: set[int]) -> tuple[set[int], set[int]]:
        """Add these jobs and datasets to the graph, deleted ones left out; the ids added."""
        found = _live_rows(self.conn, job_ids, dataset_ids)
        for rows, known, kind in zip(found, (self.jobs, self.datasets), ("JOB", "DATASET"), strict=True):
            for row_id, row in rows.items():
                key, node = _node(kind, row, self.graph.nodes)
                known[row_id], self.graph.nodes[key], self.rows[key] = key, node, row
        return set(found[0]), set(found[1])

    def describe(self) -> None:
        """Each node's data: the job or dataset as GET .../jobs/{job} or .../datasets/{dataset} answers
        it, kept between requests while unchanged (lineage/view_cache), else built in batches (a view
        per node would cost its queries per node). A job carries only its newest run, as Marquez's
        lineage does (its `latestRun`): every run costs its facets and versions."""

        # A thousand views' objects, all alive until their batch is written as JSON: collections
        # in between would only walk them again and again (a third of the time).
        with collector_paused():
            for kind, (_, view) in _VIEWS.items():
                keys = [key for key, node in self.graph.nodes.items() if node["type"] == kind]
                for start in range(0, len(keys), VIEW_BATCH):
                    batch = keys[start : start + VIEW_BATCH]
                    rows = [self.rows[key] for key in batch]
                    views = node_views.views(self.conn, kind, rows, view, self.generation)
                    for key, data in zip(batch, views, strict=True):
                        self.graph.nodes[key]["data"] = data

    def walk(self, start_jobs: set[int], start_datasets: set[int], direction: str, depth: int) -> None:
        frontier = (start_jobs, start_datasets)
        for _ in range(depth):
            if not (frontier[0] or frontier[1]):
                return
            found = self.step(*frontier, direction)
            if found is None:
                return
            frontier = found


def lineage(
    conn: Connection,
    node_id: str,
    depth: int,
    include_attempted: bool = False,
    max_nodes: int = 5000,
    direction: str = "both",
    up_depth: int | None = None,
    down_depth: int | None = None,
    as_of: datetime | None = None,
    with_children: bool = False,
    show_temporary: bool = False,
    namespace: str | None = None,
) -> Graph:
    """The graph within `depth` hops of the node.

    `both` (Marquez's behaviour) walks edges either way at every hop; `upstream` and
    `downstream` follow the data flow only, with their own depths. Without
    `include_attempted`, only edges a COMPLETE run confirmed (or a JobEvent declared) count;
    with `as_of`, only edges first seen by then. `with_children` starts from a job and every job
    below it (a DAG's tasks, and the Spark or dbt jobs those tasks started). Datasets that are only
    a job's passing output (`datasetType` JOB_OUTPUT, or subtype TEMPORARY) become edges from
    their writers to their readers, `via` them, unless `show_temporary` or the graph starts at one.
    `namespace`: the start's namespace, when the caller knows it (`resolve_node`).
    """
    stamp = generation(conn)
    node, start = resolve_node(conn, node_id, namespace=namespace)
    graph = Graph()
    walk = _Walk(conn, graph, include_attempted, as_of, max_nodes, stamp)
    starts = (
        ((_descendants(conn, start) if with_children else {start}), set()) if node.kind == JOB else (set(), {start})
    )
    walk.add_nodes(*starts)
    if direction == "both" and up_depth is None and down_depth is None:
        walk.walk(*starts, "both", depth)
    else:
        if direction in ("both", "upstream"):
            walk.walk(*starts, "upstream", depth if up_depth is None else up_depth)
        if direction in ("both", "downstream"):
            walk.walk(*starts, "downstream", depth if down_depth is None else down_depth)
    walk.describe()
    if not show_temporary:
        _collapse_temporary(graph, start_id=walk.datasets.get(start) if node.kind == DATASET else None)
    return graph


def job_views(conn: Connection, rows: Sequence[AnyRow]) -> list[NodeView]:
    """Lineage graph nodes' views of these jobs (rows with `id`): with their newest run only, in
    `latestRun` and without `latestRuns`, as Marquez's lineage graph has them. The run in both was
    written twice, about a third of a job's view and of a big graph's answer."""
    views = jobs_view(conn, _whole_rows(conn, job, rows), runs=1)
    return [
        NodeView(to_json({k: v for k, v in view.items() if k != "latestRuns"}, inf_nan_mode="null")) for view in views
    ]


def dataset_views(conn: Connection, rows: Sequence[AnyRow]) -> list[NodeView]:
    return [
        NodeView(to_json(v, inf_nan_mode="null"), reading.is_temporary(v.get("facets") or {}))
        for v in datasets_view(conn, _whole_rows(conn, dataset, rows))
    ]


def refresh_views(
    engine: Engine, jobs: Collection[int], datasets: Collection[int], jobs_using: Collection[int]
) -> tuple[int, set[int], set[int]]:
    """Build again, and keep, the views of these jobs and datasets (and of the jobs that read or
    wrote `jobs_using`) that this process keeps for graphs it showed lately and a write made out of
    date: they stay ready for the next graph. One read transaction per batch (a SQLite snapshot
    held long holds back its log's copying). Returns how many views were built, and the jobs and
    datasets among these whose views this process does not keep (for `prebuild_views`)."""
    database = engine.url.render_as_string()
    jobs = set(jobs)
    if jobs_using:
        with read_connection(engine) as conn:
            users = select(edge.c.job_id).where(among(conn.dialect.name, edge.c.dataset_id, jobs_using)).distinct()
            jobs.update(conn.execute(users).scalars())
    built = 0
    unheld: dict[str, set[int]] = {}
    for kind, ids in (("JOB", jobs), ("DATASET", set(datasets))):
        table, build = _VIEWS[kind]
        held = sorted(node_views.held(database, kind, ids))
        unheld[kind] = ids.difference(held)
        for start in range(0, len(held), VIEW_BATCH):
            chunk = set(held[start : start + VIEW_BATCH])
            with read_connection(engine) as conn, collector_paused():
                stamp = generation(conn)
                rows = list(_stamped_rows(conn, table, chunk).values())
                built += node_views.refresh(conn, kind, rows, build, stamp)
    return built, unheld["JOB"], unheld["DATASET"]


def prebuild_views(engine: Engine, kind: str, ids: Collection[int]) -> int:
    """Build, and store in the database, the views of these jobs or datasets (`kind`) that it does
    not hold under their current key, so that the first graph that shows them reads them. One read
    transaction; returns how many views were built. (The cyclic collector runs: batches are small,
    and pausing it is process-wide.)"""
    table, build = _VIEWS[kind]
    with read_connection(engine) as conn:
        stamp = generation(conn)
        rows = list(_stamped_rows(conn, table, set(ids)).values())
        return node_views.prepare(conn, kind, rows, build, stamp)


_VIEWS: dict[str, tuple[Table, Callable[[Connection, Sequence[AnyRow]], list[NodeView]]]] = {
    "JOB": (job, job_views),
    "DATASET": (dataset, dataset_views),
}


def _collapse_temporary(graph: Graph, start_id: str | None) -> None:
    nodes = graph.nodes
    passing = [
        key
        for key, n in nodes.items()
        if n["type"] == "DATASET" and key != start_id and n["data"] is not None and n["data"].temporary
    ]
    for key in passing:
        node = nodes.pop(key)
        writers = [e["origin"] for e in node["inEdges"] if e["origin"] in nodes]
        readers = [e["destination"] for e in node["outEdges"] if e["destination"] in nodes]
        for other in {e["origin"] for e in node["inEdges"]} | {e["destination"] for e in node["outEdges"]}:
            if other in nodes:
                for side in ("inEdges", "outEdges"):
                    nodes[other][side] = [e for e in nodes[other][side] if key not in (e["origin"], e["destination"])]
        for writer in writers:
            for reader in readers:
                known = {(e["origin"], e["destination"]) for e in nodes[writer]["outEdges"]}
                if writer != reader and (writer, reader) not in known:
                    edge_: Edge = {"origin": writer, "destination": reader, "via": key}
                    nodes[writer]["outEdges"].append(edge_)
                    nodes[reader]["inEdges"].append(edge_)


def _descendants(conn: Connection, root: int) -> set[int]:
    found, frontier = {root}, {root}
    while frontier:
        frontier = (
            set(
                conn.execute(
                    select(job.c.id).where(job.c.parent_job_id.in_(frontier), job.c.deleted_at.is_(None))
                ).scalars()
            )
            - found
        )
        found |= frontier
    return found


def _live_count(conn: Connection, job_ids: set[int], dataset_ids: set[int]) -> int:
    dialect = conn.dialect.name
    return sum(
        conn.execute(
            select(func.count()).select_from(table).where(among(dialect, table.c.id, ids), table.c.deleted_at.is_(None))
        ).scalar_one()
        for table, ids in ((job, job_ids), (dataset, dataset_ids))
        if ids
    )


def _live_rows(
    conn: Connection, job_ids: set[int], dataset_ids: set[int]
) -> tuple[dict[int, AnyRow], dict[int, AnyRow]]:
    """The names and view stamps of these jobs and datasets that are not deleted, by id (whole rows
    are read only for views not kept: lineage/view_cache)."""
    return _stamped_rows(conn, job, job_ids), _stamped_rows(conn, dataset, dataset_ids)


def _stamped_rows(conn: Connection, table: Table, ids: set[int]) -> dict[int, AnyRow]:
    """The names and view stamps of these rows of `table` (jobs or datasets) not deleted, by id."""
    if not ids:
        return {}
    dialect = conn.dialect.name
    found = conn.execute(_stamped(dialect, table), {"ids": list_value(dialect, ids)})
    return {row.id: row for row in found}


@functools.cache
def _stamped(dialect: str, table: Table) -> Select[Any]:
    named = select(table.c.id, table.c.namespace, table.c.name, table.c.view_stamp)
    return named.where(in_list(dialect, table.c.id, "ids"), table.c.deleted_at.is_(None))


def _whole_rows(conn: Connection, table: Table, rows: Sequence[AnyRow]) -> list[AnyRow]:
    """The whole rows of these, in their order (rows are hidden, never removed: all are still there)."""
    whole = {
        r.id: r for r in conn.execute(select(table).where(among(conn.dialect.name, table.c.id, [r.id for r in rows])))
    }
    return [whole[r.id] for r in rows]
