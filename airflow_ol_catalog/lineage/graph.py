"""Lineage graphs: breadth-first from a node over job↔dataset edges, one query per hop and kind."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, func, select

from airflow_ol_catalog.events.node_ids import DATASET, JOB, NodeId, format_node_id, readings
from airflow_ol_catalog.events.not_found import NodeNotFound
from airflow_ol_catalog.store.datasets import holder_of
from airflow_ol_catalog.store.sql import among
from airflow_ol_catalog.store.tables import dataset, edge, facet, job


@dataclass
class Graph:
    nodes: dict[str, dict] = field(default_factory=dict)  # node id -> node
    truncated: bool = False

    def as_list(self) -> list[dict]:
        return [self.nodes[key] for key in sorted(self.nodes)]


GRAPH_KINDS = (JOB, DATASET)  # what a lineage graph starts from


def resolve_node(conn: Connection, node_id: str, kinds: tuple[str, ...] = GRAPH_KINDS) -> tuple[NodeId, int]:
    """The first reading of `node_id` that names a visible job or dataset (a field: its dataset), with its id.

    NodeIdInvalid when the text is no node id of these kinds; NodeNotFound when no reading names anything.
    """
    for node in readings(node_id, kinds):
        if node.kind == JOB:
            found = conn.execute(
                select(job.c.id).where(
                    job.c.namespace == node.namespace, job.c.name == node.name, job.c.deleted_at.is_(None)
                )
            ).scalar()
        else:
            found = conn.execute(
                select(dataset.c.id).where(
                    dataset.c.id.in_(holder_of(node.namespace, node.name)), dataset.c.deleted_at.is_(None)
                )
            ).scalar()
        if found is not None:
            return node, found
    raise NodeNotFound(node_id)


def _job_node(namespace: str, name: str, placeholder: bool) -> tuple[str, dict]:
    key = format_node_id(JOB, namespace, name)
    data = {"namespace": namespace, "name": name, "placeholder": placeholder, "parent": None, "integration": None}
    return key, {"id": key, "type": "JOB", "data": data, "inEdges": [], "outEdges": []}


def _integration(job_type: str | None) -> str | None:
    found = json.loads(job_type).get("integration") if job_type else None
    return found.upper() if isinstance(found, str) else None


def _dataset_node(namespace: str, name: str) -> tuple[str, dict]:
    key = format_node_id(DATASET, namespace, name)
    return key, {
        "id": key,
        "type": "DATASET",
        "data": {"namespace": namespace, "name": name},
        "inEdges": [],
        "outEdges": [],
    }


# Which edges a step follows from jobs and from datasets, per direction of travel.
_STEPS = {
    "both": (None, None),
    "upstream": ("in", "out"),  # a job's inputs; a dataset's producers
    "downstream": ("out", "in"),  # a job's outputs; a dataset's consumers
}


@dataclass
class _Walk:
    conn: Connection
    graph: Graph
    include_attempted: bool
    as_of: datetime | None
    max_nodes: int
    jobs: dict[int, str] = field(default_factory=dict)
    datasets: dict[int, str] = field(default_factory=dict)
    edges: set[tuple[int, int, str]] = field(default_factory=set)
    hidden_jobs: set[int] = field(default_factory=set)  # deleted nodes met on the way
    hidden_datasets: set[int] = field(default_factory=set)

    def step(
        self, frontier_jobs: set[int], frontier_datasets: set[int], direction: str
    ) -> tuple[set[int], set[int]] | None:
        """Follow one hop; None when the hop would pass max_nodes (the graph stops before it).

        The edge query reads the edge table alone (its indexes); the nodes it reaches for the
        first time are then named, in two look-ups, and deleted ones dropped with their edges.
        """
        from_jobs, from_datasets = _STEPS[direction]
        dialect = self.conn.dialect.name
        job_side = among(dialect, edge.c.job_id, frontier_jobs)
        dataset_side = among(dialect, edge.c.dataset_id, frontier_datasets)
        if from_jobs:
            job_side &= edge.c.direction == from_jobs
            dataset_side &= edge.c.direction == from_datasets
        conditions: list[ColumnElement[bool]] = [job_side | dataset_side]
        if not self.include_attempted:
            conditions.append(edge.c.confirmed | edge.c.declared)
        if self.as_of is not None:
            conditions.append(edge.c.first_seen_at <= self.as_of)
        rows = self.conn.execute(select(edge.c.job_id, edge.c.dataset_id, edge.c.direction).where(*conditions)).all()
        job_ids = {r[0] for r in rows} - self.jobs.keys() - self.hidden_jobs
        dataset_ids = {r[1] for r in rows} - self.datasets.keys() - self.hidden_datasets
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
            pair = {"origin": origin, "destination": destination}
            nodes[origin]["outEdges"].append(pair)
            nodes[destination]["inEdges"].append(pair)
        return new_jobs, new_datasets

    def add_nodes(self, job_ids: set[int], dataset_ids: set[int]) -> tuple[set[int], set[int]]:
        """Add these jobs and datasets to the graph, deleted ones left out; the ids added."""
        found = _live_nodes(self.conn, job_ids, dataset_ids)
        for nodes, known in zip(found, (self.jobs, self.datasets), strict=False):
            for node_id, (key, node) in nodes.items():
                known[node_id], self.graph.nodes[key] = key, node
        return set(found[0]), set(found[1])

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
) -> Graph:
    """The graph within `depth` hops of the node.

    `both` (Marquez's behaviour) walks edges either way at every hop; `upstream` and
    `downstream` follow the data flow only, with their own depths. Without
    `include_attempted`, only edges a COMPLETE run confirmed (or a JobEvent declared) count;
    with `as_of`, only edges first seen by then. `with_children` starts from a job and every job
    below it (a DAG's tasks, and the Spark or dbt jobs those tasks started).
    """
    node, start = resolve_node(conn, node_id)
    graph = Graph()
    walk = _Walk(conn, graph, include_attempted, as_of, max_nodes)
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
    _describe_jobs(conn, graph, walk.jobs)
    return graph


def _describe_jobs(conn: Connection, graph: Graph, jobs: dict[int, str]) -> None:
    """Each job node's parent job and integration, in one query after the walk."""
    parent = job.alias("parent")
    if not jobs:
        return
    rows = conn.execute(
        select(job.c.id, parent.c.namespace, parent.c.name, facet.c.value)
        .select_from(job)
        .outerjoin(parent, and_(parent.c.id == job.c.parent_job_id, parent.c.deleted_at.is_(None)))
        .outerjoin(facet, and_(facet.c.entity == "job", facet.c.entity_id == job.c.id, facet.c.name == "jobType"))
        .where(among(conn.dialect.name, job.c.id, jobs))
    )
    for row in rows:
        data = graph.nodes[jobs[row.id]]["data"]
        data["parent"] = format_node_id(JOB, row.namespace, row.name) if row.name is not None else None
        data["integration"] = _integration(row.value)


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


def _live_count(conn, job_ids: set[int], dataset_ids: set[int]) -> int:
    dialect = conn.dialect.name
    return sum(
        conn.execute(
            select(func.count()).select_from(table).where(among(dialect, table.c.id, ids), table.c.deleted_at.is_(None))
        ).scalar_one()
        for table, ids in ((job, job_ids), (dataset, dataset_ids))
        if ids
    )


def _live_nodes(
    conn, job_ids: set[int], dataset_ids: set[int]
) -> tuple[dict[int, tuple[str, dict]], dict[int, tuple[str, dict]]]:
    """(key, node) of each of these jobs and datasets that is not deleted, by id."""
    dialect = conn.dialect.name
    jobs = {}
    if job_ids:
        for job_id, namespace, name, placeholder in conn.execute(
            select(job.c.id, job.c.namespace, job.c.name, job.c.placeholder).where(
                among(dialect, job.c.id, job_ids), job.c.deleted_at.is_(None)
            )
        ):
            jobs[job_id] = _job_node(namespace, name, placeholder)
    datasets = {}
    if dataset_ids:
        for dataset_id, namespace, name in conn.execute(
            select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(
                among(dialect, dataset.c.id, dataset_ids), dataset.c.deleted_at.is_(None)
            )
        ):
            datasets[dataset_id] = _dataset_node(namespace, name)
    return jobs, datasets
