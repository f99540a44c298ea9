"""Lineage graphs: breadth-first from a node over job↔dataset edges, one query per hop and kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from airflow_ol_catalog.events.naming import namespace_key
from airflow_ol_catalog.store.tables import dataset, edge, job


class NodeNotFound(LookupError):
    pass


@dataclass
class Graph:
    nodes: dict[str, dict] = field(default_factory=dict)  # node id -> node
    truncated: bool = False

    def as_list(self) -> list[dict]:
        return [self.nodes[key] for key in sorted(self.nodes)]


def _candidates(rest: str) -> list[tuple[str, str]]:
    """Every (namespace, name) split of `NS:NAME`; namespaces may hold colons (`postgres://h:5432`)."""
    return [(rest[:i], rest[i + 1 :]) for i, ch in enumerate(rest) if ch == ":" and rest[i + 1 : i + 3] != "//"]


def resolve_node(conn: Connection, node_id: str) -> tuple[str, int]:
    kind, _, rest = node_id.partition(":")
    for ns, name in _candidates(rest):
        if kind == "job":
            found = conn.execute(select(job.c.id).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))).scalar()
        elif kind == "dataset":
            found = conn.execute(
                select(dataset.c.id).where(dataset.c.namespace_key == namespace_key(ns), dataset.c.name == name, dataset.c.deleted_at.is_(None))
            ).scalar()
        else:
            raise NodeNotFound(f"nodeId must start with job: or dataset:, got {node_id!r}")
        if found is not None:
            return kind, found
    raise NodeNotFound(f"no {kind} matches nodeId {node_id!r}")


def _job_node(row) -> tuple[str, dict]:
    key = f"job:{row.namespace}:{row.name}"
    return key, {"id": key, "type": "JOB", "data": {"namespace": row.namespace, "name": row.name, "placeholder": row.placeholder}, "inEdges": [], "outEdges": []}


def _dataset_node(row) -> tuple[str, dict]:
    key = f"dataset:{row.namespace}:{row.name}"
    return key, {"id": key, "type": "DATASET", "data": {"namespace": row.namespace, "name": row.name}, "inEdges": [], "outEdges": []}


def lineage(conn: Connection, node_id: str, depth: int, include_attempted: bool = False, max_nodes: int = 5000) -> Graph:
    """Everything within `depth` hops up- and downstream of the node."""
    kind, start = resolve_node(conn, node_id)
    jobs: dict[int, str] = {}
    datasets: dict[int, str] = {}
    graph = Graph()
    frontier_jobs, frontier_datasets = ({start}, set()) if kind == "job" else (set(), {start})
    seen_edges: set[tuple[int, int, str]] = set()
    for hop in range(depth + 1):
        _add_nodes(conn, graph, jobs, datasets, frontier_jobs, frontier_datasets)
        if hop == depth or len(graph.nodes) >= max_nodes:
            graph.truncated = hop < depth and bool(frontier_jobs or frontier_datasets)
            break
        conditions = [edge.c.job_id.in_(frontier_jobs) | edge.c.dataset_id.in_(frontier_datasets)]
        if not include_attempted:
            conditions.append(edge.c.confirmed | edge.c.declared)
        rows = conn.execute(
            select(edge.c.job_id, edge.c.dataset_id, edge.c.direction)
            .join(job, job.c.id == edge.c.job_id)
            .join(dataset, dataset.c.id == edge.c.dataset_id)
            .where(*conditions, job.c.deleted_at.is_(None), dataset.c.deleted_at.is_(None))
        ).all()
        next_jobs = {r.job_id for r in rows} - jobs.keys()
        next_datasets = {r.dataset_id for r in rows} - datasets.keys()
        _add_nodes(conn, graph, jobs, datasets, next_jobs, next_datasets)
        for r in rows:
            if (r.job_id, r.dataset_id, r.direction) in seen_edges:
                continue
            seen_edges.add((r.job_id, r.dataset_id, r.direction))
            job_key, ds_key = jobs[r.job_id], datasets[r.dataset_id]
            origin, destination = (ds_key, job_key) if r.direction == "in" else (job_key, ds_key)
            pair = {"origin": origin, "destination": destination}
            graph.nodes[origin]["outEdges"].append(pair)
            graph.nodes[destination]["inEdges"].append(pair)
        frontier_jobs, frontier_datasets = next_jobs, next_datasets
        if not (frontier_jobs or frontier_datasets):
            break
    return graph


def _add_nodes(conn, graph: Graph, jobs: dict, datasets: dict, job_ids: set[int], dataset_ids: set[int]) -> None:
    new_jobs = job_ids - jobs.keys()
    if new_jobs:
        for row in conn.execute(select(job.c.id, job.c.namespace, job.c.name, job.c.placeholder).where(job.c.id.in_(new_jobs))):
            key, node = _job_node(row)
            jobs[row.id] = key
            graph.nodes[key] = node
    new_datasets = dataset_ids - datasets.keys()
    if new_datasets:
        for row in conn.execute(select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(dataset.c.id.in_(new_datasets))):
            key, node = _dataset_node(row)
            datasets[row.id] = key
            graph.nodes[key] = node
